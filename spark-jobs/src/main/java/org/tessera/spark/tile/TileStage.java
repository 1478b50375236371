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

    try (OutputLock lock = OutputLock.acquire(conf, new Path(layout.root()), "tile", console)) {
      return claimed(spark, jsc, conf, layout, fs, slides, settings, console);
    }
  }

  /** The run once the output is locked: list, record the parameters, tile what is not done. */
  private static Summary claimed(SparkSession spark, JavaSparkContext jsc, Configuration conf,
      TileLayout layout, FileSystem fs, String slides, TileSettings settings,
      PrintStream console) throws IOException {
    // Ids recorded by earlier runs are kept for their files, so a slide keeps its id when files
    // are added beside it; a slide counts as done only if its ok row is for the same file.
    Map<String, SlideTable.Recorded> recorded = settings.overwrite() ? Map.of()
        : SlideTable.recorded(spark, conf, layout.slides());
    Map<String, String> recordedIds = new TreeMap<>();
    recorded.forEach((id, r) -> recordedIds.putIfAbsent(r.path(), id));
    SlideSource.Listing listing = SlideSource.list(conf, slides, recordedIds);
    Provenance.claim(conf, new Path(layout.root()), PROVENANCE, Params.of(settings),
        settings.overwrite());
    fs.mkdirs(layout.tiles());
    fs.mkdirs(layout.slides());

    List<SlideInput> pending = new ArrayList<>();
    for (SlideInput s : listing.slides()) {
      SlideTable.Recorded r = recorded.get(s.slideId());
      if (r == null || !r.ok() || !r.path().equals(s.path())) {
        pending.add(s);
      }
    }
    pending.sort(Comparator.comparingLong(SlideInput::bytes).reversed()
        .thenComparing(SlideInput::slideId));
    int skipped = listing.slides().size() - pending.size();
    console.printf("[tile] %d slides listed, %d already done, %d to process -> %s%n",
        listing.slides().size(), skipped, pending.size(), layout.root());
    printRenamed(console, listing.slides());
    uncommit(conf, layout, pending);

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
          outcomes = storePixels(jsc, outcomes, settings, hconf, layout, progress);
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

  /**
   * Un-commits, on the driver and before any task starts, the slides about to be (re)done: row
   * first (so a slide is never counted done with half its tiles), then tiles and QC image. Tasks
   * never delete: a task that finds its slide's row was preceded by another attempt of itself.
   * Pixel ranges in {@code _work} stay: they are keyed by what they hold and resume the slide.
   */
  private static void uncommit(Configuration conf, TileLayout layout, List<SlideInput> pending)
      throws IOException {
    if (pending.isEmpty()) {
      return;
    }
    FileSystem fs = layout.slides().getFileSystem(conf);
    Set<String> ids = new java.util.HashSet<>();
    for (SlideInput s : pending) {
      SlideTable.delete(conf, layout.slides(), s.slideId());
      fs.delete(layout.qcPath(s.slideId()), false);
      ids.add(s.slideId());
    }
    RangeCommit.deleteSlides(conf, layout.tiles(), ids);
  }

  /** Says which slides have an id other than their file name (a clash, or an earlier run's). */
  private static void printRenamed(PrintStream console, List<SlideInput> slides) {
    List<String> renamed = new ArrayList<>();
    for (SlideInput s : slides) {
      String name = new Path(s.path()).getName();
      int dot = name.lastIndexOf('.');
      String stem = dot > 0 ? name.substring(0, dot) : name;
      if (!stem.equals(s.slideId())) {
        renamed.add(s.slideId() + " <- " + name);
      }
    }
    if (!renamed.isEmpty()) {
      console.printf("[tile] %d slide(s) with an id other than their file name (ids are kept"
          + " across runs in slides/): %s%n", renamed.size(), String.join(", ", renamed));
    }
  }

  /**
   * Reads the pixels of every planned slide in ranges and commits each slide whose ranges were
   * all stored; a slide with a range that could not be read fails alone with that reason.
   *
   * @return the outcome of every slide of {@code planned}, as committed
   */
  private static List<SlideTasks.Planned> storePixels(JavaSparkContext jsc,
      List<SlideTasks.Planned> planned, TileSettings settings, HadoopConf hconf,
      TileLayout layout, StageProgress progress) throws IOException {
    List<RangeCommit.Part> ranges = new ArrayList<>();
    Map<String, List<RangeCommit.Part>> partsBySlide = new TreeMap<>();
    for (SlideTasks.Planned p : planned) {
      if (p.row().ok() && !p.committed()) {
        List<RangeCommit.Part> parts = RangeCommit.parts(p.row().slideId(), p.row().path(),
            p.key(), p.row().tileCount(), settings.tilesPerTask());
        partsBySlide.put(p.row().slideId(), parts);
        ranges.addAll(parts);
      }
    }
    if (ranges.isEmpty()) {
      return planned;
    }
    // The tile count is known now: the pixel pass's ETA comes from tiles, not slides.
    progress.expectItems(ranges.stream().mapToLong(r -> r.end() - r.start()).sum()
        + progress.items().value());
    var items = progress.items();
    jsc.setJobDescription("tile: read and store pixels of " + ranges.size() + " tile ranges");
    List<SlideTasks.Stored> stored = jsc.parallelize(ranges, ranges.size()).map(r -> {
      SlideTasks.Stored d = SlideTasks.readPixels(r, settings, hconf.get(), layout);
      items.add(d.tiles());
      return d;
    }).collect();
    Map<String, String> errors = new TreeMap<>();
    for (SlideTasks.Stored d : stored) {
      if (!d.ok()) {
        errors.putIfAbsent(d.slideId(), d.error());
      }
    }
    Configuration conf = hconf.get();
    Path root = new Path(layout.root());
    List<SlideTasks.Planned> outcomes = new ArrayList<>();
    for (SlideTasks.Planned p : planned) {
      String id = p.row().slideId();
      if (!partsBySlide.containsKey(id)) {
        outcomes.add(p);
        continue;
      }
      String error = errors.get(id);
      SlideTable.Row row = p.row();
      if (error == null) {
        RangeCommit.moveIntoPlace(conf, root, layout.tiles(), partsBySlide.get(id));
      } else {
        RangeCommit.discardWork(conf, root, id);
        row = SlideTable.Row.failed(id, row.path(), error, row.elapsedMs(),
            java.time.Instant.now().toString());
      }
      SlideTable.write(conf, layout.slides(), row);
      outcomes.add(new SlideTasks.Planned(row, null, true));
      progress.units().add(1);
    }
    return outcomes;
  }
}
