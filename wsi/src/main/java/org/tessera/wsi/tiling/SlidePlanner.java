package org.tessera.wsi.tiling;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.tessera.wsi.LevelInfo;
import org.tessera.wsi.SlideMetadata;
import org.tessera.wsi.SlideReader;
import org.tessera.core.image.PackedRgb;
import org.tessera.wsi.region.RegionRequest;
import org.tessera.core.image.Resampler;
import org.tessera.wsi.region.TileGrid;
import org.tessera.wsi.tissue.Level0Rect;
import org.tessera.wsi.tissue.QcImage;
import org.tessera.wsi.tissue.TissueDetector;
import org.tessera.wsi.tissue.TissueMask;

/**
 * Plans one slide: reads a low-resolution image, segments tissue on it, lays the tile grid at the
 * target resolution and keeps the tiles whose tissue fraction reaches the threshold.
 */
public final class SlidePlanner {
  /** Segmentation images larger than this are read from a coarser level and shrunk. */
  static final long MAX_SEG_PIXELS = 64L << 20;
  /** Rows read per native call when assembling the segmentation image (bounds native buffers). */
  private static final long STRIP_PIXELS = 4L << 20;
  /** Longest edge of the QC image. */
  private static final int QC_EDGE = 1024;

  private SlidePlanner() {}

  public static SlidePlan plan(SlideReader reader, TilingParams params) throws IOException {
    SlideMetadata meta = reader.metadata();
    boolean assumed = false;
    if (meta.mpp().isEmpty()) {
      if (params.assumeMpp() == null) {
        throw new IllegalArgumentException("slide has no microns-per-pixel metadata (vendor "
            + meta.vendor() + "): pass --assume-mpp MPP to state it");
      }
      meta = meta.withMpp(params.assumeMpp());
      assumed = true;
    }
    TileGrid grid = TileGrid.plan(meta, params.targetMpp(), params.tileSize(), params.stride());

    double segDownsample = Math.max(1.0, params.segDownsample());
    BufferedImage thumb = segmentationImage(reader, meta, segDownsample);
    double thumbDownsample = (double) meta.width() / thumb.getWidth();
    TissueMask mask = TissueDetector.detect(thumb, thumbDownsample, params.tissue());

    int n = (int) Math.min(Integer.MAX_VALUE, grid.tileCount());
    int[] cols = new int[n];
    int[] rows = new int[n];
    double[] fractions = new double[n];
    int kept = 0;
    long footprint = Math.round(grid.footprintLevel0());
    for (int r = 0; r < grid.rows(); r++) {
      long y = grid.y(r);
      for (int c = 0; c < grid.cols(); c++) {
        double f = mask.fraction(grid.x(c), y, footprint, footprint);
        if (f >= params.minTissue() && f > 0) {
          cols[kept] = c;
          rows[kept] = r;
          fractions[kept] = f;
          kept++;
        }
      }
    }
    return new SlidePlan(meta, assumed, grid, mask, thumb,
        java.util.Arrays.copyOf(cols, kept), java.util.Arrays.copyOf(rows, kept),
        java.util.Arrays.copyOf(fractions, kept));
  }

  /**
   * The image tissue is found on: the coarsest level no coarser than the wanted downsample, read
   * in strips and shrunk to that downsample when the level is finer.
   */
  static BufferedImage segmentationImage(SlideReader reader, SlideMetadata meta, double wanted)
      throws IOException {
    LevelInfo level = meta.level(0);
    for (LevelInfo l : meta.levels()) {
      if (l.downsample() <= wanted * 1.01 && l.downsample() > level.downsample()) {
        level = l;
      }
    }
    while (level.width() * level.height() > MAX_SEG_PIXELS) {
      if (level.index() + 1 >= meta.levelCount()) {
        throw new IllegalArgumentException("no pyramid level small enough to segment tissue on"
            + " (smallest is " + level.width() + "x" + level.height() + " px): this slide has no"
            + " usable low-resolution level");
      }
      level = meta.level(level.index() + 1);
    }
    int w = Math.toIntExact(level.width());
    int h = Math.toIntExact(level.height());
    int[] rgb = new int[w * h];
    int stripRows = (int) Math.max(1, STRIP_PIXELS / w);
    for (int y = 0; y < h; y += stripRows) {
      int rows = Math.min(stripRows, h - y);
      long y0 = Math.round(y * level.downsample());
      int[] strip = reader.readRgbPixels(RegionRequest.of(0, y0, level.index(), w, rows), 0xffffff);
      System.arraycopy(strip, 0, rgb, y * w, strip.length);
    }
    int outW = Math.max(1, (int) Math.round(meta.width() / wanted));
    int outH = Math.max(1, (int) Math.round(meta.height() / wanted));
    if (outW < w && outH < h) {
      return PackedRgb.image(Resampler.resize(rgb, w, h, outW, outH), outW, outH);
    }
    return PackedRgb.image(rgb, w, h);
  }

  /**
   * The QC picture of a plan: tissue outline and kept tiles over a thumbnail of the slide, read
   * from the finest level small enough to look at (the segmentation image is often too coarse to
   * judge single tiles on).
   */
  public static BufferedImage qcImage(SlideReader reader, SlidePlan plan) throws IOException {
    BufferedImage thumb = plan.thumbnail();
    SlideMetadata meta = plan.metadata();
    for (LevelInfo l : meta.levels()) {
      if (Math.max(l.width(), l.height()) <= 2L * QC_EDGE) {
        if (Math.max(l.width(), l.height()) > Math.max(thumb.getWidth(), thumb.getHeight())) {
          thumb = reader.readRgb(RegionRequest.of(0, 0, l.index(), (int) l.width(),
              (int) l.height()), 0xffffff);
        }
        break;
      }
    }
    List<Level0Rect> boxes = new ArrayList<>(plan.tileCount());
    long f = Math.round(plan.grid().footprintLevel0());
    for (int i = 0; i < plan.tileCount(); i++) {
      var t = plan.tile(i);
      boxes.add(new Level0Rect(t.x(), t.y(), f, f));
    }
    return QcImage.render(thumb, plan.mask(), boxes, (double) meta.width() / thumb.getWidth(),
        QC_EDGE);
  }
}
