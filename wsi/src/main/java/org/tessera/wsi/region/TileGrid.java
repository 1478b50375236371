package org.tessera.wsi.region;

import org.tessera.wsi.LevelInfo;
import org.tessera.wsi.SlideMetadata;

/**
 * A regular grid of square tiles over a slide at a target physical resolution.
 *
 * <p>The level read is the coarsest pyramid level that is still at least as fine as the target
 * (so tiles are only ever shrunk, never blown up, unless the scan itself is coarser than the
 * target); the read size at that level is rounded to whole pixels once, here, and every tile of the
 * grid uses the same integer size and stride. Only whole tiles inside the slide are produced.
 *
 * @param level        pyramid level tiles are read from
 * @param levelDownsample downsample of that level relative to level 0
 * @param sizeAtLevel  tile edge in pixels at {@code level}
 * @param strideAtLevel grid step in pixels at {@code level}
 * @param tileSize     tile edge delivered to consumers (pixels at the target resolution)
 * @param targetMpp    target microns per pixel of delivered tiles
 * @param slideMpp     microns per level-0 pixel used to plan (from metadata or assumed)
 * @param cols         tiles per row
 * @param rows         tiles per column
 */
public record TileGrid(
    int level,
    double levelDownsample,
    int sizeAtLevel,
    int strideAtLevel,
    int tileSize,
    double targetMpp,
    double slideMpp,
    int cols,
    int rows) {

  /** Levels whose downsample is within this relative distance of the wanted one count as exact. */
  static final double LEVEL_MATCH_TOLERANCE = 0.01;

  /**
   * Plans the grid for one slide.
   *
   * @param meta      slide metadata; must carry an MPP (use {@link SlideMetadata#withMpp} to assume one)
   * @param targetMpp wanted microns per pixel of the delivered tiles
   * @param tileSize  delivered tile edge in pixels
   * @param stride    grid step in delivered pixels ({@code tileSize} for non-overlapping tiles)
   */
  public static TileGrid plan(SlideMetadata meta, double targetMpp, int tileSize, int stride) {
    if (!(targetMpp > 0) || Double.isInfinite(targetMpp)) {
      throw new IllegalArgumentException("target mpp must be a positive number, got " + targetMpp);
    }
    if (tileSize <= 0 || stride <= 0) {
      throw new IllegalArgumentException(
          "tile size and stride must be positive, got tile " + tileSize + ", stride " + stride);
    }
    double slideMpp = meta.mpp().orElseThrow(() -> new IllegalArgumentException(
        "slide has no microns-per-pixel metadata: pass --assume-mpp to state it"));
    double wanted = targetMpp / slideMpp;

    LevelInfo chosen = meta.level(0);
    for (LevelInfo l : meta.levels()) {
      if (l.downsample() <= wanted * (1 + LEVEL_MATCH_TOLERANCE)
          && l.downsample() > chosen.downsample()) {
        chosen = l;
      }
    }
    double perLevelPixel = wanted / chosen.downsample();
    boolean exact = Math.abs(perLevelPixel - 1.0) <= LEVEL_MATCH_TOLERANCE;
    int sizeAtLevel = exact ? tileSize : Math.max(1, (int) Math.round(tileSize * perLevelPixel));
    int strideAtLevel = exact ? stride : Math.max(1, (int) Math.round(stride * perLevelPixel));

    int cols = count(chosen.width(), sizeAtLevel, strideAtLevel);
    int rows = count(chosen.height(), sizeAtLevel, strideAtLevel);
    return new TileGrid(chosen.index(), chosen.downsample(), sizeAtLevel, strideAtLevel, tileSize,
        targetMpp, slideMpp, cols, rows);
  }

  private static int count(long extentAtLevel, int size, int stride) {
    if (extentAtLevel < size) {
      return 0;
    }
    long n = (extentAtLevel - size) / stride + 1;
    if (n > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("tile grid too large: " + n + " tiles along one axis");
    }
    return (int) n;
  }

  public long tileCount() {
    return (long) cols * rows;
  }

  /** Level-0 x of the left edge of column {@code col}. */
  public long x(int col) {
    return Math.round((double) col * strideAtLevel * levelDownsample);
  }

  /** Level-0 y of the top edge of row {@code row}. */
  public long y(int row) {
    return Math.round((double) row * strideAtLevel * levelDownsample);
  }

  /** Edge of one tile in level-0 pixels (for tissue-fraction lookups and QC drawing). */
  public double footprintLevel0() {
    return sizeAtLevel * levelDownsample;
  }

  public TileRequest tile(int col, int row) {
    if (col < 0 || col >= cols || row < 0 || row >= rows) {
      throw new IndexOutOfBoundsException(
          "tile (" + col + "," + row + ") outside grid " + cols + "x" + rows);
    }
    return TileRequest.of(level, x(col), y(row), sizeAtLevel, tileSize);
  }
}
