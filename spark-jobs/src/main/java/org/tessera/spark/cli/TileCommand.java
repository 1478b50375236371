package org.tessera.spark.cli;

import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import org.tessera.spark.tile.TileSettings;
import org.tessera.spark.tile.TileStage;
import org.tessera.wsi.tiling.TilingParams;
import org.tessera.wsi.tissue.TissueParams;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "tile", mixinStandardHelpOptions = true,
    description = {"Find tissue on each slide and cut it into tiles at a target resolution.",
        "Output (OUT): tiles/ (Parquet: slide_id, col, row, x, y, level, size_at_level, tile_size, "
            + "target_mpp, tissue_fraction[, pixel_format, pixels]), slides/ (Parquet: one row per "
            + "slide with status ok|failed and the reason), qc/<slide_id>.png, tile_params.json.",
        "Re-running skips slides already done; a failed slide is reported and retried next run."})
final class TileCommand implements Callable<Integer> {

  @Option(names = "--slides", required = true, paramLabel = "DIR|CSV",
      description = "A folder of slides, or a CSV with a 'path' column (and optional 'slide_id'); "
          + "local paths or any Hadoop file system URI (hdfs://...).")
  String slides;

  @Option(names = "--out", required = true, paramLabel = "OUT", description = "Output folder (any Hadoop file system).")
  String out;

  static final class Resolution {
    @Option(names = "--mpp", paramLabel = "UM",
        description = "Target microns per pixel of the tiles (default 0.5, about 20x).")
    Double mpp;

    @Option(names = "--magnification", paramLabel = "X",
        description = "Target magnification instead of --mpp; 20 means 0.5 um/px, 40 means 0.25.")
    Double magnification;

    double targetMpp() {
      return magnification != null ? TilingParams.mppForMagnification(magnification) : mpp;
    }
  }

  @ArgGroup(exclusive = true, multiplicity = "0..1")
  Resolution resolution;

  @Option(names = "--tile", paramLabel = "PX", description = "Tile edge in pixels (default: ${DEFAULT-VALUE}).")
  int tile = 256;

  @Option(names = "--stride", paramLabel = "PX", description = "Grid step in pixels (default: the tile edge, no overlap).")
  Integer stride;

  @Option(names = "--min-tissue", paramLabel = "F",
      description = "Keep tiles whose tissue fraction is at least F (default: ${DEFAULT-VALUE}).")
  double minTissue = 0.5;

  @Option(names = "--assume-mpp", paramLabel = "UM",
      description = "Microns per pixel for slides whose metadata has none (e.g. generic TIFF). "
          + "Without it such slides fail with a message.")
  Double assumeMpp;

  @Option(names = "--tissue", paramLabel = "SPEC",
      description = "Tissue detection: a preset (default, biopsy, fixed) optionally followed by "
          + "overrides, e.g. 'biopsy,threshold=20,close=0'. Keys: threshold (0-255 or otsu), "
          + "low_threshold, median, close, fill_holes, min_hole_area, min_tissue_area (level-0 px^2)."
          + " Default: ${DEFAULT-VALUE}.")
  String tissue = "default";

  @Option(names = "--seg-downsample", paramLabel = "D",
      description = "Downsample of the image tissue is found on (default: ${DEFAULT-VALUE}).")
  double segDownsample = 16;

  @Option(names = "--store-pixels", description = "Also store each tile's encoded pixels in the tile index.")
  boolean storePixels;

  @Option(names = "--pixel-format", paramLabel = "FMT",
      description = "With --store-pixels: jpeg, png or raw (RGB bytes) (default: ${DEFAULT-VALUE}).")
  String pixelFormat = "jpeg";

  @Option(names = "--jpeg-quality", paramLabel = "Q", description = "JPEG quality 1-100 (default: ${DEFAULT-VALUE}).")
  int jpegQuality = 90;

  @Option(names = "--tiles-per-task", paramLabel = "N",
      description = "With --store-pixels, split slides with more tiles into tasks of N tiles so a "
          + "large slide is read by several executors (default: ${DEFAULT-VALUE}).")
  int tilesPerTask = 2000;




  @Mixin
  RunOptions run;

  @Mixin
  ReaderOption reader;

  @Mixin
  SparkOptions spark;

  TileSettings settings() {
    double target = resolution == null || (resolution.mpp == null && resolution.magnification == null)
        ? 0.5 : resolution.targetMpp();
    TilingParams tiling = new TilingParams(target, tile, stride == null ? tile : stride, minTissue,
        segDownsample, assumeMpp, TissueParams.parse(tissue));
    return new TileSettings(tiling, storePixels, pixelFormat, jpegQuality, tilesPerTask,
        run.overwrite, run.cacheDir, reader.kind());
  }

  @Override
  public Integer call() throws Exception {
    TileSettings s = settings();
    SparkSession session = spark.session("tessera tile");
    TileStage.Summary summary = TileStage.run(session, slides, out, s, System.out);
    run.report(summary.describe(), summary);
    return 0;
  }
}
