package org.tessera.wsi;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.util.Optional;
import org.tessera.core.image.PackedRgb;
import org.tessera.wsi.region.RegionRequest;
import org.tessera.core.image.Resampler;
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
   * @return a new array each call, owned by the caller (the RGB reads composite in it)
   */
  int[] readArgb(long x, long y, int level, int width, int height) throws IOException;

  /** The most pixels one region read may return: what one Java int array holds. */
  long MAX_REGION_PIXELS = Integer.MAX_VALUE - 8;

  /**
   * Checks a {@link #readArgb} request against {@code metadata} (the level exists, the size is
   * positive and fits one array) and returns its pixel count; every implementation calls it first.
   */
  static int regionPixels(SlideMetadata metadata, int level, int width, int height) {
    metadata.level(level);
    if (width <= 0 || height <= 0) {
      throw new IllegalArgumentException(
          "region size must be positive, got " + width + "x" + height + " at level " + level);
    }
    long pixels = (long) width * height;
    if (pixels > MAX_REGION_PIXELS) {
      throw new IllegalArgumentException("region " + width + "x" + height + " has " + pixels
          + " pixels, more than one Java array holds; read it in tiles");
    }
    return (int) pixels;
  }

  /** An associated image (label, macro, thumbnail, ...) by name, if the slide has one. */
  default Optional<BufferedImage> associatedImage(String name) throws IOException {
    return Optional.empty();
  }

  /**
   * A region composited over an opaque background colour (0xRRGGBB), as packed 0xRRGGBB ints,
   * row-major, {@code width * height} long (upper byte 0). A new array each call.
   */
  default int[] readRgbPixels(RegionRequest region, int backgroundRgb) throws IOException {
    int[] px = readArgb(region.x(), region.y(), region.level(), region.width(), region.height());
    int bgR = (backgroundRgb >> 16) & 0xff;
    int bgG = (backgroundRgb >> 8) & 0xff;
    int bgB = backgroundRgb & 0xff;
    // In place: readArgb hands over its array, and a second tile-sized array per read is garbage.
    for (int i = 0; i < px.length; i++) {
      int p = px[i];
      int a = p >>> 24;
      if (a == 255) {
        px[i] = p & 0xffffff;
      } else {
        int r = blend((p >> 16) & 0xff, bgR, a);
        int g = blend((p >> 8) & 0xff, bgG, a);
        int b = blend(p & 0xff, bgB, a);
        px[i] = (r << 16) | (g << 8) | b;
      }
    }
    return px;
  }

  /** A region composited over an opaque background colour (0xRRGGBB), as an RGB image. */
  default BufferedImage readRgb(RegionRequest region, int backgroundRgb) throws IOException {
    return PackedRgb.image(readRgbPixels(region, backgroundRgb), region.width(), region.height());
  }

  /**
   * A tile as training code sees it, as packed 0xRRGGBB ints, {@code outputSize}² long: read at
   * its level, composited over white, resampled to the tile's output size when the pyramid has no
   * level at exactly the target resolution. A new array each call.
   */
  default int[] readTilePixels(TileRequest tile) throws IOException {
    int[] atLevel = readRgbPixels(tile.region(), 0xffffff);
    if (tile.sizeAtLevel() == tile.outputSize()) {
      return atLevel;
    }
    return Resampler.resize(atLevel, tile.sizeAtLevel(), tile.sizeAtLevel(), tile.outputSize(),
        tile.outputSize());
  }

  /** {@link #readTilePixels} as an RGB image. */
  default BufferedImage readTile(TileRequest tile) throws IOException {
    return PackedRgb.image(readTilePixels(tile), tile.outputSize(), tile.outputSize());
  }

  @Override
  void close();

  private static int blend(int c, int bg, int a) {
    return (c * a + bg * (255 - a) + 127) / 255;
  }
}
