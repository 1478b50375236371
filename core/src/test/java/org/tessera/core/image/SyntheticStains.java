package org.tessera.core.image;

import java.util.Random;

/**
 * Test tiles rendered by Beer-Lambert mixing of two known stain vectors, so stain estimates can be
 * checked against the truth. Tissue is a mix of nuclei (mostly hematoxylin), stroma (mostly
 * eosin) and mixed pixels, with some of the other stain everywhere and sensor noise, on a white
 * background, like an H&amp;E tile.
 */
final class SyntheticStains {
  /**
   * A staining clearly unlike the Macenko defaults: Ruifrok and Johnston's hematoxylin (8.4
   * degrees off) and a bluer eosin (12.9 degrees off). Ruifrok's own eosin is not used: with a red
   * OD of 0.07 per unit, pure eosin never reaches Macenko's beta = 0.15 in red, so no method
   * with that threshold can see it.
   */
  static final MacenkoNormalizer.StainVector SHIFTED_H = unit(0.65, 0.70, 0.29);
  static final MacenkoNormalizer.StainVector SHIFTED_E = unit(0.25, 0.90, 0.36);

  private SyntheticStains() {}

  static MacenkoNormalizer.StainVector unit(double r, double g, double b) {
    double n = Math.sqrt(r * r + g * g + b * b);
    return new MacenkoNormalizer.StainVector(r / n, g / n, b / n);
  }

  /**
   * A {@code size x size} tile.
   *
   * @param background fraction of pure white (255) pixels
   * @param strength   multiplies every concentration (1 = typical H&amp;E)
   * @param noise      standard deviation of Gaussian sensor noise, in 8-bit levels
   */
  static int[] tile(MacenkoNormalizer.StainVector h, MacenkoNormalizer.StainVector e, int size,
      double background, double strength, double noise, long seed) {
    Random rnd = new Random(seed);
    int[] out = new int[size * size];
    for (int i = 0; i < out.length; i++) {
      if (rnd.nextDouble() < background) {
        out[i] = 0xffffff;
        continue;
      }
      double kind = rnd.nextDouble();
      double ch;
      double ce;
      if (kind < 0.3) {
        ch = 0.5 + 1.3 * rnd.nextDouble();
        ce = 0.15 * rnd.nextDouble();
      } else if (kind < 0.7) {
        ch = 0.15 * rnd.nextDouble();
        ce = 0.6 + 0.6 * rnd.nextDouble();
      } else {
        ch = 0.2 + 1.0 * rnd.nextDouble();
        ce = 0.2 + 0.7 * rnd.nextDouble();
      }
      out[i] = render(h, e, strength * ch, strength * ce, noise * rnd.nextGaussian(),
          noise * rnd.nextGaussian(), noise * rnd.nextGaussian());
    }
    return out;
  }

  /** The 8-bit colour of the given concentrations, as in {@link MacenkoNormalizer}'s output. */
  static int render(MacenkoNormalizer.StainVector h, MacenkoNormalizer.StainVector e, double ch,
      double ce) {
    return render(h, e, ch, ce, 0, 0, 0);
  }

  private static int render(MacenkoNormalizer.StainVector h, MacenkoNormalizer.StainVector e,
      double ch, double ce, double... noise) {
    double[] hv = {h.red(), h.green(), h.blue()};
    double[] ev = {e.red(), e.green(), e.blue()};
    int packed = 0;
    for (int k = 0; k < 3; k++) {
      double v = MacenkoNormalizer.IO * Math.exp(-(hv[k] * ch + ev[k] * ce)) - 1 + noise[k];
      int b = (int) Math.round(Math.max(0, Math.min(255, v)));
      packed = (packed << 8) | b;
    }
    return packed;
  }

  static double meanAbsDiff(int[] a, int[] b) {
    long sum = 0;
    for (int i = 0; i < a.length; i++) {
      for (int shift = 16; shift >= 0; shift -= 8) {
        sum += Math.abs(((a[i] >> shift) & 0xff) - ((b[i] >> shift) & 0xff));
      }
    }
    return sum / (3.0 * a.length);
  }
}
