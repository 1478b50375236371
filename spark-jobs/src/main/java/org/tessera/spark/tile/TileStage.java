package org.tessera.spark.tile;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.tessera.spark.io.HadoopConf;
import org.tessera.spark.io.OutputGuard;
import org.tessera.spark.io.OutputLock;
import org.tessera.spark.io.Provenance;
import org.tessera.spark.io.RangeCommit;
import org.tessera.spark.io.SlideTable;
import org.tessera.wsi.tiling.TilingParams;

/**
 * The tile stage on the driver: list slides, skip those already committed, plan the rest on
 * executors (one task per slide, largest files first), read stored pixels in ranges when asked,
 * and commit each slide. Usable from the CLI, from {@code spark-submit} and from notebooks.
 */
public final class TileStage {
  /** How a tile output records what made it ({@code tile_params.json}). */
  public static final Provenance.Kind PROVENANCE = new Provenance.Kind("tile_params.json",
      "tiles made with other parameters", "use --overwrite to redo every slide, or another --out",
      Set.of("reader"));

  /**
   * The parameters that decide the tiles, recorded in {@code tile_params.json}.
   *
   * @param pixelFormat with stored pixels, their encoding; null otherwise
   * @param jpegQuality with stored pixels, the JPEG quality; null otherwise
   * @param reader      the {@code --reader} of the run ({@code auto}, {@code direct} or
   *                    {@code openslide}); recorded, not compared: every reader gives the same
   *                    pixels, and each slide row names the implementation that read it
   */
  public record Params(TilingParams tiling, boolean storePixels, String pixelFormat,
      Integer jpegQuality, String reader) {
    static Params of(TileSettings s) {
      return new Params(s.tiling(), s.storePixels(), s.storePixels() ? s.pixelFormat() : null,
          s.storePixels() ? s.jpegQuality() : null, s.reader().optionName());
    }
  }

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
    try (OutputLock lock = OutputLock.acquire(conf, new Path(layout.root()), "tile", console)) {
      return claimed(spark, jsc, conf, layout, fs, listing, settings, console);
    }
  }

  /** The run once the output is locked: record the parameters, then tile what is not done. */
  private static Summary claimed(SparkSession spark, JavaSparkContext jsc, Configuration conf,
      TileLayout layout, FileSystem fs, SlideSource.Listing listing, TileSettings settings,
      PrintStream console) throws IOException {
    Provenance.claim(conf, new Path(layout.root()), PROVENANCE, Params.of(settings),
        settings.overwrite());
    fs.mkdirs(layout.tiles());
    fs.mkdirs(layout.slides());

    Set<String> done = settings.overwrite() ? Set.of()
        : OutputGuard.committedOk(spark, conf, layout.slides());
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
      int[] bounds = RangeCommit.splits(p.row().tileCount(), settings.tilesPerTask());
      partsBySlide.put(p.row().slideId(), bounds.length - 1);
      for (int k = 0; k + 1 < bounds.length; k++) {
        ranges.add(new SlideTasks.Range(p.row().slideId(), p.row().path(), k, bounds.length - 1,
            bounds[k], bounds[k + 1]));
      }
    }
    if (ranges.isEmpty()) {
      return;
    }
    // The tile count is known now: the pixel pass's ETA comes from tiles, not slides.
    progress.expectItems(ranges.stream().mapToLong(r -> r.end() - r.start()).sum()
        + progress.items().value());
    var items = progress.items();
    jsc.setJobDescription("tile: read and store pixels of " + ranges.size() + " tile ranges");
    jsc.parallelize(ranges, ranges.size()).foreach(r -> {
      SlideTasks.readPixels(r, settings, hconf.get(), layout);
      items.add(r.end() - r.start());
    });
    Configuration conf = hconf.get();
    for (SlideTasks.Planned p : planned) {
      if (!p.row().ok()) {
        continue;
      }
      String id = p.row().slideId();
      RangeCommit.moveIntoPlace(conf, new Path(layout.root()), layout.tiles(), id,
          partsBySlide.get(id));
      SlideTable.write(conf, layout.slides(), p.row());
      progress.units().add(1);
    }
  }
}
