package org.tessera.wsi;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.util.Optional;
import org.tessera.wsi.region.RegionRequest;
import org.tessera.wsi.region.Resampler;
import org.tessera.wsi.region.TileRequest;

/**
 * An open whole-slide image. Implementations provide the metadata and one raw read; composited
 * RGB regions and level-exact tiles are derived here, once, for every format.
 *
 * <p>Implementations must be safe to call from several threads at once (executors read tiles of
 * one slide in parallel) and must release native resources in {@link #close()}.
 */
public interface SlideReader extends AutoCloseable {

  /** Pyramid, vendor, physical pixel size and properties of this slide. */
  SlideMetadata metadata();

  /**
   * Reads a region as non-premultiplied ARGB ints, row-major, {@code width * height} long.
   * Pixels outside the slide (or outside its scanned area) have alpha 0.
   *
   * @param x      left edge in level-0 pixel coordinates (may be negative or past the edge)
   * @param y      top edge in level-0 pixel coordinates
   * @param level  pyramid level to read from
   * @param width  width in pixels at {@code level}
   * @param height height in pixels at {@code level}
   */
  int[] readArgb(long x, long y, int level, int width, int height) throws IOException;

  /** An associated image (label, macro, thumbnail, ...) by name, if the slide has one. */
  default Optional<BufferedImage> associatedImage(String name) throws IOException {
    return Optional.empty();
  }

  /** A region composited over an opaque background colour (0xRRGGBB), as an RGB image. */
  default BufferedImage readRgb(RegionRequest region, int backgroundRgb) throws IOException {
    int[] argb = readArgb(region.x(), region.y(), region.level(), region.width(), region.height());
    BufferedImage image =
        new BufferedImage(region.width(), region.height(), BufferedImage.TYPE_INT_RGB);
    int[] rgb = new int[argb.length];
    int bgR = (backgroundRgb >> 16) & 0xff;
    int bgG = (backgroundRgb >> 8) & 0xff;
    int bgB = backgroundRgb & 0xff;
    for (int i = 0; i < argb.length; i++) {
      int p = argb[i];
      int a = p >>> 24;
      if (a == 255) {
        rgb[i] = p & 0xffffff;
      } else {
        int r = blend((p >> 16) & 0xff, bgR, a);
        int g = blend((p >> 8) & 0xff, bgG, a);
        int b = blend(p & 0xff, bgB, a);
        rgb[i] = (r << 16) | (g << 8) | b;
      }
    }
    image.setRGB(0, 0, region.width(), region.height(), rgb, 0, region.width());
    return image;
  }

  /**
   * A tile as training code sees it: read at its level, composited over white, resampled to the
   * tile's output size when the pyramid has no level at exactly the target resolution.
   */
  default BufferedImage readTile(TileRequest tile) throws IOException {
    BufferedImage atLevel = readRgb(tile.region(), 0xffffff);
    if (tile.sizeAtLevel() == tile.outputSize()) {
      return atLevel;
    }
    return Resampler.resize(atLevel, tile.outputSize(), tile.outputSize());
  }

  @Override
  void close();

  private static int blend(int c, int bg, int a) {
    return (c * a + bg * (255 - a) + 127) / 255;
  }
}
