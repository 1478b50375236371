package org.tessera.core.image;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferInt;
import java.awt.image.DirectColorModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;

/**
 * Packed {@code 0xRRGGBB} pixels, row-major: the form tiles take between the slide reader, the
 * resampler and the encoders.
 *
 * <p>{@link BufferedImage#setRGB} and {@link BufferedImage#getRGB} convert pixel by pixel through
 * a colour model, which on a 256x256 tile costs about half as much as OpenSlide's JPEG decode of
 * it. Tiles therefore stay int arrays, and an image is only a view over one when an image API
 * (ImageIO, Java2D) needs it.
 */
public final class PackedRgb {
  // Exactly the colour model of TYPE_INT_RGB, so the views below report that type and ImageIO and
  // Java2D take their fast paths for it.
  private static final DirectColorModel RGB = new DirectColorModel(24, 0xff0000, 0xff00, 0xff);

  private PackedRgb() {}

  /**
   * A {@link BufferedImage#TYPE_INT_RGB} image backed by {@code rgb} itself, not a copy: changes to
   * either show in the other. The upper byte of each int is ignored.
   */
  public static BufferedImage image(int[] rgb, int width, int height) {
    checkSize(rgb, width, height);
    WritableRaster raster = Raster.createPackedRaster(
        new DataBufferInt(rgb, width * height), width, height, width, RGB.getMasks(), null);
    return new BufferedImage(RGB, raster, false, null);
  }

  /**
   * Interleaved R, G, B bytes, three per pixel in array order: the {@code raw} pixel format of
   * stored tiles and the layout numpy gives an RGB image. The upper byte of each int is ignored.
   */
  public static byte[] toRgbBytes(int[] rgb) {
    byte[] out = new byte[Math.multiplyExact(rgb.length, 3)];
    int o = 0;
    for (int p : rgb) {
      out[o] = (byte) (p >> 16);
      out[o + 1] = (byte) (p >> 8);
      out[o + 2] = (byte) p;
      o += 3;
    }
    return out;
  }

  /** The inverse of {@link #toRgbBytes}: packed 0xRRGGBB pixels from interleaved RGB bytes. */
  public static int[] fromRgbBytes(byte[] bytes) {
    if (bytes.length % 3 != 0) {
      throw new IllegalArgumentException("raw RGB pixels come in threes, got " + bytes.length
          + " bytes");
    }
    int[] rgb = new int[bytes.length / 3];
    for (int i = 0, o = 0; i < rgb.length; i++, o += 3) {
      rgb[i] = ((bytes[o] & 0xff) << 16) | ((bytes[o + 1] & 0xff) << 8) | (bytes[o + 2] & 0xff);
    }
    return rgb;
  }

  private static void checkSize(int[] rgb, int width, int height) {
    if (width <= 0 || height <= 0) {
      throw new IllegalArgumentException(
          "image size must be positive, got " + width + "x" + height);
    }
    if ((long) width * height != rgb.length) {
      throw new IllegalArgumentException("a " + width + "x" + height + " image needs "
          + (long) width * height + " pixels, got " + rgb.length);
    }
  }
}
