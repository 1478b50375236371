package org.tessera.wsi.tissue;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;

/**
 * Tissue (true) versus glass at thumbnail resolution, with the downsample that maps it back to
 * level 0. The tile grid asks it, for every candidate tile, how much of the tile is tissue.
 *
 * <p>Immutable and safe to share between threads; serializable so Spark can ship it to executors.
 */
public final class TissueMask implements Serializable {
  private static final long serialVersionUID = 1L;

  private final int width;
  private final int height;
  private final double downsample;
  private final boolean[] tissue;
  private final long tissuePixels;
  private final int saturationThreshold;
  private transient volatile int[] summedArea;

  /**
   * @param width      mask width in pixels
   * @param height     mask height in pixels
   * @param downsample level-0 pixels per mask pixel along each axis
   * @param tissue     row-major, {@code width * height}; copied
   */
  public TissueMask(int width, int height, double downsample, boolean[] tissue) {
    this(width, height, downsample, tissue.clone(), -1);
  }

  TissueMask(int width, int height, double downsample, boolean[] tissue, int saturationThreshold) {
    if (width <= 0 || height <= 0) {
      throw new IllegalArgumentException("mask size must be positive, got " + width + "x" + height);
    }
    if ((long) (width + 1) * (height + 1) > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("mask " + width + "x" + height + " is too large; use a smaller thumbnail");
    }
    if (tissue.length != width * height) {
      throw new IllegalArgumentException(
          "mask has " + tissue.length + " pixels, expected " + width + "x" + height);
    }
    if (!(downsample > 0) || Double.isInfinite(downsample)) {
      throw new IllegalArgumentException("downsample must be positive and finite, got " + downsample);
    }
    this.width = width;
    this.height = height;
    this.downsample = downsample;
    this.tissue = tissue;
    this.saturationThreshold = saturationThreshold;
    long n = 0;
    for (boolean t : tissue) {
      n += t ? 1 : 0;
    }
    this.tissuePixels = n;
  }

  public int width() {
    return width;
  }

  public int height() {
    return height;
  }

  /** Level-0 pixels per mask pixel along each axis. */
  public double downsample() {
    return downsample;
  }

  /**
   * The saturation threshold that seeded detection (Otsu's, floored at the low threshold, or the
   * fixed one), for logs; -1 for a mask not made by {@link TissueDetector}.
   */
  public int saturationThreshold() {
    return saturationThreshold;
  }

  public boolean isTissue(int x, int y) {
    return tissue[y * width + x];
  }

  public long tissuePixelCount() {
    return tissuePixels;
  }

  /** Tissue share of the whole mask. */
  public double tissueFraction() {
    return (double) tissuePixels / ((long) width * height);
  }

  /** A copy of the mask, row-major. */
  public boolean[] toArray() {
    return tissue.clone();
  }

  /**
   * Tissue fraction of the level-0 rectangle [x0, x0 + w0) x [y0, y0 + h0): the mask is read as
   * a piecewise-constant image and integrated exactly over the rectangle, so mask pixels the
   * rectangle only partly covers count by the area covered. The rectangle is first clipped to the
   * mask's extent (what lies outside counts neither as tissue nor as glass); a rectangle entirely
   * outside has fraction 0. O(1) per call through a summed-area table built on first use.
   */
  public double fraction(long x0, long y0, long w0, long h0) {
    if (w0 <= 0 || h0 <= 0) {
      throw new IllegalArgumentException("rectangle size must be positive, got " + w0 + "x" + h0);
    }
    double ax = clip(x0 / downsample, width);
    double bx = clip((x0 + w0) / downsample, width);
    double ay = clip(y0 / downsample, height);
    double by = clip((y0 + h0) / downsample, height);
    if (bx <= ax || by <= ay) {
      return 0;
    }
    int[] sat = summedArea();
    // Split each axis into its partly covered first cell, fully covered middle and partly covered
    // last cell; every block sum is an exact integer, so no large values cancel in floating point.
    int fx = (int) Math.floor(ax);
    int lx = (int) Math.ceil(bx) - 1;
    int fy = (int) Math.floor(ay);
    int ly = (int) Math.ceil(by) - 1;
    double wxFirst = fx == lx ? bx - ax : fx + 1 - ax;
    double wxLast = bx - lx;
    double sum = (fy == ly ? by - ay : fy + 1 - ay) * band(sat, fy, fy + 1, fx, lx, wxFirst, wxLast);
    if (ly > fy) {
      sum += (by - ly) * band(sat, ly, ly + 1, fx, lx, wxFirst, wxLast);
    }
    if (ly > fy + 1) {
      sum += band(sat, fy + 1, ly, fx, lx, wxFirst, wxLast);
    }
    double f = sum / ((bx - ax) * (by - ay));
    return f < 0 ? 0 : Math.min(1, f);
  }

  /** A grey image, 255 = tissue, for QC and debugging. */
  public BufferedImage toImage() {
    BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
    byte[] data = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
    for (int i = 0; i < tissue.length; i++) {
      data[i] = (byte) (tissue[i] ? 255 : 0);
    }
    return img;
  }

  public void writePng(Path png) throws IOException {
    QcImage.writePng(toImage(), png);
  }

  private static double clip(double v, int max) {
    return v < 0 ? 0 : Math.min(max, v);
  }

  /** Coverage-weighted tissue count of rows [y0, y1) over the x extent split as in fraction(). */
  private double band(int[] sat, int y0, int y1, int fx, int lx, double wxFirst, double wxLast) {
    double s = wxFirst * block(sat, fx, y0, fx + 1, y1);
    if (lx > fx) {
      s += wxLast * block(sat, lx, y0, lx + 1, y1);
    }
    if (lx > fx + 1) {
      s += block(sat, fx + 1, y0, lx, y1);
    }
    return s;
  }

  private long block(int[] sat, int x0, int y0, int x1, int y1) {
    int stride = width + 1;
    return (long) sat[y1 * stride + x1] - sat[y0 * stride + x1] - sat[y1 * stride + x0]
        + sat[y0 * stride + x0];
  }

  private int[] summedArea() {
    int[] sat = summedArea;
    if (sat == null) {
      int stride = width + 1;
      sat = new int[stride * (height + 1)];
      for (int y = 0; y < height; y++) {
        int rowSum = 0;
        for (int x = 0; x < width; x++) {
          rowSum += tissue[y * width + x] ? 1 : 0;
          sat[(y + 1) * stride + x + 1] = sat[y * stride + x + 1] + rowSum;
        }
      }
      summedArea = sat;
    }
    return sat;
  }
}
