package org.tessera.core.nn.patch;

import java.util.SplittableRandom;

/**
 * Training-tile augmentation for histology, where orientation carries no meaning and staining
 * varies: a random flip, rotation by a multiple of 90° and mild colour jitter (brightness,
 * contrast, saturation each by a factor in [0.9, 1.1], as torchvision's {@code ColorJitter(0.1,
 * 0.1, 0.1)}), the result clamped to [0, 1].
 *
 * <p>It is applied to RGB tiles in [0, 1] BEFORE normalisation, because the jitter is defined on
 * intensities (a brightness factor on a normalised, zero-centred tile would mean something else).
 * The choice is a pure function of (seed, epoch, tile id), so a rerun or a retried Spark task
 * sees the same tiles whatever worker or order it processes them in.
 */
public final class TileAugment {

  private static final double JITTER = 0.1;

  private TileAugment() {}

  /**
   * An augmented copy of the square tile {@code chw} [3, size, size] (row-major), values in
   * [0, 1].
   */
  public static float[] apply(float[] chw, int size, long seed, int epoch, long tileId) {
    if (chw.length != 3 * size * size) {
      throw new IllegalArgumentException("tile has " + chw.length + " values; a 3x" + size + "x"
          + size + " tile has " + 3 * size * size);
    }
    SplittableRandom random = new SplittableRandom(mix(mix(mix(seed) ^ epoch) ^ tileId));
    boolean flip = random.nextBoolean();
    int quarterTurns = random.nextInt(4);
    double brightness = factor(random);
    double contrast = factor(random);
    double saturation = factor(random);
    float[] out = orient(chw, size, flip, quarterTurns);
    jitter(out, size * size, brightness, contrast, saturation);
    return out;
  }

  /**
   * Horizontal flip then {@code quarterTurns} counter-clockwise rotations; with the 4 rotations
   * these give all 8 symmetries of the square (a vertical flip is a horizontal one turned twice).
   */
  static float[] orient(float[] chw, int size, boolean flip, int quarterTurns) {
    float[] out = new float[chw.length];
    int plane = size * size;
    int last = size - 1;
    for (int c = 0; c < 3; c++) {
      for (int y = 0; y < size; y++) {
        for (int x = 0; x < size; x++) {
          int sx = flip ? last - x : x;
          int sy = y;
          int ry;
          int rx;
          switch (quarterTurns) {
            case 1 -> {
              ry = last - sx;
              rx = sy;
            }
            case 2 -> {
              ry = last - sy;
              rx = last - sx;
            }
            case 3 -> {
              ry = sx;
              rx = last - sy;
            }
            default -> {
              ry = sy;
              rx = sx;
            }
          }
          out[c * plane + ry * size + rx] = chw[c * plane + y * size + x];
        }
      }
    }
    return out;
  }

  /** torchvision's order and formulas: brightness, contrast (about the mean grey), saturation. */
  private static void jitter(float[] rgb, int plane, double brightness, double contrast,
      double saturation) {
    for (int i = 0; i < rgb.length; i++) {
      rgb[i] = clamp(rgb[i] * brightness);
    }
    double meanGrey = 0;
    for (int p = 0; p < plane; p++) {
      meanGrey += grey(rgb, plane, p);
    }
    meanGrey /= plane;
    for (int i = 0; i < rgb.length; i++) {
      rgb[i] = clamp(meanGrey + contrast * (rgb[i] - meanGrey));
    }
    for (int p = 0; p < plane; p++) {
      double g = grey(rgb, plane, p);
      for (int c = 0; c < 3; c++) {
        int i = c * plane + p;
        rgb[i] = clamp(g + saturation * (rgb[i] - g));
      }
    }
  }

  /** ITU-R 601 luma, torchvision's {@code rgb_to_grayscale}. */
  private static double grey(float[] rgb, int plane, int p) {
    return 0.299 * rgb[p] + 0.587 * rgb[plane + p] + 0.114 * rgb[2 * plane + p];
  }

  private static double factor(SplittableRandom random) {
    return 1 - JITTER + 2 * JITTER * random.nextDouble();
  }

  private static float clamp(double v) {
    return (float) Math.min(1, Math.max(0, v));
  }

  /** SplitMix64's finaliser: nearby (seed, epoch, id) triples give unrelated streams. */
  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }
}
