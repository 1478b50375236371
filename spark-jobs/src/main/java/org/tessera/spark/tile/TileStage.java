package org.tessera.spark.tile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.tessera.spark.io.AtomicFiles;
import org.tessera.spark.io.HadoopConf;
import org.tessera.spark.io.SlideTable;
import org.tessera.spark.io.TileIndex;

/**
 * The tile stage on the driver: list slides, skip those already committed, plan the rest on
 * executors (one task per slide, largest files first), read stored pixels in ranges when asked,
 * and commit each slide. Usable from the CLI, from {@code spark-submit} and from notebooks.
 */
public final class TileStage {
  private static final ObjectMapper JSON = new ObjectMapper()
      .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);

  private TileStage() {}

  /** What a run did. */
  public record Summary(
      int listed,
      int skipped,
      int processed,
      int ok,
      int failed,
      long tiles,
      double seconds,
      Map<String, String> failures,
      List<String> ignoredFiles) {

    public String describe() {
      StringBuilder sb = new StringBuilder();
      sb.append(String.format("tile: %d slides listed, %d already done, %d processed: %d ok, %d failed;"
              + " %,d tiles in %.1f s (%,.0f tiles/s)",
          listed, skipped, processed, ok, failed, tiles, seconds, tiles / Math.max(seconds, 1e-3)));
      failures.forEach((id, why) -> sb.append("\n  failed ").append(id).append(": ").append(why));
      if (!ignoredFiles.isEmpty()) {
        sb.append("\n  not slides (ignored): ").append(ignoredFiles.size()).append(" side file(s)");
      }
      return sb.toString();
    }
  }

  public static Summary run(SparkSession spark, String slides, String out, TileSettings settings,
      PrintStream console) throws IOException {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Configuration conf = jsc.hadoopConfiguration();
    TileLayout layout = new TileLayout(new Path(out).getFileSystem(conf)
        .makeQualified(new Path(out)).toString());
    FileSystem fs = new Path(layout.root()).getFileSystem(conf);

    SlideSource.Listing listing = SlideSource.list(conf, slides);
    prepareOutput(fs, conf, layout, settings);

    Set<String> done = settings.overwrite() ? Set.of() : committedOk(spark, fs, layout);
    List<SlideInput> pending = new ArrayList<>();
    for (SlideInput s : listing.slides()) {
      if (!done.contains(s.slideId())) {
        pending.add(s);
      }
    }
    pending.sort(Comparator.comparingLong(SlideInput::bytes).reversed()
        .thenComparing(SlideInput::slideId));
    int skipped = listing.slides().size() - pending.size();
    console.printf("[tile] %d slides listed, %d already done, %d to process -> %s%n",
        listing.slides().size(), skipped, pending.size(), layout.root());

    List<SlideTasks.Planned> outcomes = new ArrayList<>();
    long tiles = 0;
    StageProgress progress = new StageProgress(spark.sparkContext(), "tile", pending.size(), console);
    try {
      if (!pending.isEmpty()) {
        HadoopConf hconf = new HadoopConf(conf);
        var units = progress.units();
        var items = progress.items();
        boolean finishesInPlan = !settings.storePixels();
        jsc.setJobDescription("tile: find tissue and lay tile grids on " + pending.size()
            + " slides");
        outcomes = jsc.parallelize(pending, pending.size()).map(in -> {
          SlideTasks.Planned p = SlideTasks.plan(in, settings, hconf.get(), layout);
          if (finishesInPlan || !p.row().ok()) {
            units.add(1);
            items.add(p.row().tileCount());
          }
          return p;
        }).collect();
        if (settings.storePixels()) {
          storePixels(jsc, outcomes, settings, hconf, layout, progress);
        }
      }
    } finally {
      progress.close();
    }

    int ok = 0;
    Map<String, String> failures = new TreeMap<>();
    for (SlideTasks.Planned p : outcomes) {
      if (p.row().ok()) {
        ok++;
        tiles += p.row().tileCount();
      } else {
        failures.put(p.row().slideId(), p.row().error());
      }
    }
    return new Summary(listing.slides().size(), skipped, pending.size(), ok, failures.size(),
        tiles, progress.seconds(), failures, listing.ignored());
  }

  private static void storePixels(JavaSparkContext jsc, List<SlideTasks.Planned> planned,
      TileSettings settings, HadoopConf hconf, TileLayout layout, StageProgress progress)
      throws IOException {
    List<SlideTasks.Range> ranges = new ArrayList<>();
    Map<String, Integer> partsBySlide = new TreeMap<>();
    for (SlideTasks.Planned p : planned) {
      if (!p.row().ok()) {
        continue;
      }
      int n = (int) p.row().tileCount();
      int parts = Math.max(1, (n + settings.tilesPerTask() - 1) / settings.tilesPerTask());
      partsBySlide.put(p.row().slideId(), parts);
      for (int k = 0; k < parts; k++) {
        int start = (int) ((long) n * k / parts);
        int end = (int) ((long) n * (k + 1) / parts);
        ranges.add(new SlideTasks.Range(p.row().slideId(), p.row().path(), k, parts, start, end));
      }
    }
    if (ranges.isEmpty()) {
      return;
    }
    var items = progress.items();
    jsc.setJobDescription("tile: read and store pixels of " + ranges.size() + " tile ranges");
    jsc.parallelize(ranges, ranges.size()).foreach(r -> {
      SlideTasks.readPixels(r, settings, hconf.get(), layout);
      items.add(r.end() - r.start());
    });
    Configuration conf = hconf.get();
    FileSystem fs = new Path(layout.root()).getFileSystem(conf);
    for (SlideTasks.Planned p : planned) {
      if (!p.row().ok()) {
        continue;
      }
      String id = p.row().slideId();
      TileIndex.deleteSlide(conf, layout.tiles(), id);
      fs.mkdirs(layout.tiles());
      for (int k = 0; k < partsBySlide.get(id); k++) {
        Path from = layout.workPart(id, k);
        if (!fs.rename(from, TileIndex.partPath(layout.tiles(), id, k))) {
          throw new IOException("could not commit " + from + " into " + layout.tiles());
        }
      }
      SlideTable.write(conf, layout.slides(), p.row());
      fs.delete(layout.planFile(id).getParent(), true);
      progress.units().add(1);
    }
  }

  /**
   * Creates the output folders and records the tiling parameters; refuses to mix tiles made with
   * other parameters into an existing output unless asked to overwrite.
   */
  private static void prepareOutput(FileSystem fs, Configuration conf, TileLayout layout,
      TileSettings settings) throws IOException {
    ObjectNode params = JSON.createObjectNode();
    params.set("tiling", JSON.valueToTree(settings.tiling()));
    params.put("store_pixels", settings.storePixels());
    if (settings.storePixels()) {
      params.put("pixel_format", settings.pixelFormat());
      params.put("jpeg_quality", settings.jpegQuality());
    }
    Path paramsFile = layout.params();
    if (fs.exists(paramsFile) && !settings.overwrite()) {
      JsonNode existing;
      try (var in = fs.open(paramsFile)) {
        existing = JSON.readTree(in);
      }
      if (!existing.equals(params)) {
        throw new IllegalArgumentException(layout.root() + " holds tiles made with other parameters ("
            + paramsFile + "): use --overwrite to redo every slide, or another --out");
      }
    }
    if (settings.overwrite()) {
      fs.delete(layout.work(), true);
    }
    fs.mkdirs(layout.tiles());
    fs.mkdirs(layout.slides());
    byte[] bytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsString(params)
        .getBytes(StandardCharsets.UTF_8);
    AtomicFiles.writeStream(conf, paramsFile, o -> o.write(bytes));
  }

  /** Ids of slides whose slide row says ok: their tiles are complete. */
  static Set<String> committedOk(SparkSession spark, FileSystem fs, TileLayout layout)
      throws IOException {
    Set<String> ids = new HashSet<>();
    Path dir = layout.slides();
    if (!fs.exists(dir) || fs.globStatus(new Path(dir, "*.parquet")).length == 0) {
      return ids;
    }
    for (Row r : spark.read().parquet(dir.toString()).select("slide_id", "status")
        .collectAsList()) {
      if (SlideTable.OK.equals(r.getString(1))) {
        ids.add(r.getString(0));
      }
    }
    return ids;
  }
}
