package org.tessera.wsi.tissue;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.tessera.core.image.Resampler;

/**
 * A picture to check segmentation and tiling by eye: the thumbnail, tissue tinted green with a
 * dark-green outline, and every kept tile as a thin blue box. A wrong threshold or a grid that
 * misses tissue is obvious here long before it shows up as a poor model.
 */
public final class QcImage {
  static final int TISSUE_TINT = 0x00c000;
  static final int OUTLINE = 0x006400;
  static final int TILE_BOX = 0x1e50ff;
  private static final int TINT_ALPHA = 77;

  private QcImage() {}

  /**
   * @param thumbnail  the image to draw on (not modified)
   * @param mask       tissue mask of the same slide, at any resolution
   * @param tiles      kept tiles in level-0 coordinates
   * @param downsample level-0 pixels per thumbnail pixel
   */
  public static BufferedImage render(BufferedImage thumbnail, TissueMask mask, List<Level0Rect> tiles,
      double downsample) {
    int w = thumbnail.getWidth();
    int h = thumbnail.getHeight();
    int[] px = thumbnail.getRGB(0, 0, w, h, null, 0, w);
    double scale = downsample / mask.downsample();
    int[] mx = maskIndex(w, scale, mask.width());
    int[] my = maskIndex(h, scale, mask.height());
    boolean[] tissue = new boolean[w * h];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        tissue[y * w + x] = mx[x] >= 0 && my[y] >= 0 && mask.isTissue(mx[x], my[y]);
      }
    }
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int i = y * w + x;
        if (!tissue[i]) {
          continue;
        }
        boolean edge = x == 0 || y == 0 || x == w - 1 || y == h - 1
            || !tissue[i - 1] || !tissue[i + 1] || !tissue[i - w] || !tissue[i + w];
        px[i] = edge ? OUTLINE : tint(px[i]);
      }
    }
    BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    out.setRGB(0, 0, w, h, px, 0, w);
    Graphics2D g = out.createGraphics();
    try {
      g.setColor(new Color(TILE_BOX));
      for (Level0Rect t : tiles) {
        int x0 = (int) Math.round(t.x() / downsample);
        int y0 = (int) Math.round(t.y() / downsample);
        int x1 = (int) Math.round((t.x() + t.width()) / downsample);
        int y1 = (int) Math.round((t.y() + t.height()) / downsample);
        g.drawRect(x0, y0, Math.max(1, x1 - x0), Math.max(1, y1 - y0));
      }
    } finally {
      g.dispose();
    }
    return out;
  }

  /**
   * As {@link #render(BufferedImage, TissueMask, List, double)}, on the thumbnail first shrunk (by
   * area averaging) so that its longer edge is at most {@code maxEdge}: segmentation images of
   * large slides are too big to look at.
   */
  public static BufferedImage render(BufferedImage thumbnail, TissueMask mask, List<Level0Rect> tiles,
      double downsample, int maxEdge) {
    if (maxEdge <= 0) {
      throw new IllegalArgumentException("maxEdge must be positive, got " + maxEdge);
    }
    int w = thumbnail.getWidth();
    int h = thumbnail.getHeight();
    double shrink = Math.max(1.0, (double) Math.max(w, h) / maxEdge);
    if (shrink == 1.0) {
      return render(thumbnail, mask, tiles, downsample);
    }
    int outW = Math.max(1, Math.min(maxEdge, (int) Math.round(w / shrink)));
    int outH = Math.max(1, Math.min(maxEdge, (int) Math.round(h / shrink)));
    BufferedImage small = Resampler.resize(thumbnail, outW, outH);
    return render(small, mask, tiles, downsample * w / outW);
  }

  /** Writes an image as PNG, creating parent directories. */
  public static void writePng(BufferedImage image, Path png) throws IOException {
    Path parent = png.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    if (!ImageIO.write(image, "png", png.toFile())) {
      throw new IOException("no PNG writer for image type " + image.getType() + " (" + png + ")");
    }
  }

  /** Mask column (or row) under each thumbnail pixel centre, -1 past the mask. */
  private static int[] maskIndex(int n, double scale, int limit) {
    int[] idx = new int[n];
    for (int i = 0; i < n; i++) {
      int m = (int) Math.floor((i + 0.5) * scale);
      idx[i] = m < limit ? m : -1;
    }
    return idx;
  }

  private static int tint(int p) {
    int r = blend((p >> 16) & 0xff, (TISSUE_TINT >> 16) & 0xff);
    int g = blend((p >> 8) & 0xff, (TISSUE_TINT >> 8) & 0xff);
    int b = blend(p & 0xff, TISSUE_TINT & 0xff);
    return (r << 16) | (g << 8) | b;
  }

  private static int blend(int c, int tint) {
    return (c * (255 - TINT_ALPHA) + tint * TINT_ALPHA + 127) / 255;
  }
}
