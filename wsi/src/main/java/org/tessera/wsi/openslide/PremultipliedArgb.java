package org.tessera.wsi.openslide;

/**
 * Turns OpenSlide's premultiplied ARGB (cairo's native format) into the straight ARGB that {@link
 * org.tessera.wsi.SlideReader#readArgb} promises.
 *
 * <p>The arithmetic is python-openslide 1.2.0's ({@code argb2rgba} in {@code _convert.c}), so the
 * same slide yields byte-identical pixels in our Java tiles and in Python pipelines: a channel
 * becomes {@code 255 * c / a} with truncating integer division, stored in a byte (so invalid input
 * with {@code c > a} wraps instead of saturating); alpha 255 is left as is; alpha 0 is left
 * untouched as a word, which Python then reads as the bytes B, G, R, 0. OpenSlide itself only
 * produces all-zero words there, but matching the word exactly keeps byte identity unconditional.
 */
final class PremultipliedArgb {
  private PremultipliedArgb() {}

  static void unpremultiply(int[] argb) {
    for (int i = 0; i < argb.length; i++) {
      int p = argb[i];
      int a = p >>> 24;
      // Opaque pixels are the bulk of a slide: testing for them first keeps the loop cheap.
      if (a != 255) {
        argb[i] = a == 0 ? Integer.reverseBytes(p) >>> 8 : straight(p, a);
      }
    }
  }

  private static int straight(int p, int a) {
    int r = (255 * ((p >>> 16) & 0xff) / a) & 0xff;
    int g = (255 * ((p >>> 8) & 0xff) / a) & 0xff;
    int b = (255 * (p & 0xff) / a) & 0xff;
    return (a << 24) | (r << 16) | (g << 8) | b;
  }
}
