package org.tessera.core.image;

import java.io.Serializable;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Reinhard et al. (2001) colour transfer for H&amp;E tiles: convert to a decorrelated colour space,
 * give each channel of the tile's tissue the mean and standard deviation of a target, convert back.
 *
 * <p>Colour space: Ruderman's lαβ as Reinhard used it, on the 8-bit RGB values, with the natural
 * logarithm; the same definition as HistomicsTK's {@code rgb_to_lab}. Chosen over CIELAB because
 * (1) matching each channel on its own assumes the channels are decorrelated, which is what lαβ
 * was derived for and the space in which Reinhard et al. validated the method; (2) it comes with a
 * documented, widely used H&amp;E target to default to, {@link #HISTOMICSTK_REFERENCE}, which is
 * only meaningful in exactly this space; (3) it costs one log and one exp per channel instead of
 * CIELAB's gamma curves and cube roots. The base of the logarithm scales all three channels alike:
 * a fitted target gives the same output in any base, but target numbers are only valid in the
 * base they were computed in (natural, here and in HistomicsTK).
 *
 * <p>Background: pixels whose darkest channel is at least {@link #BACKGROUND_LEVEL} (glass,
 * lumens, fat) are not tissue. They are excluded from the statistics and left untouched, so a
 * tile's white space neither drags its statistics nor gets tinted. Between
 * {@code FULL_MAPPING_LEVEL} (195) and the background level the output blends linearly from
 * mapped to untouched, so pale tissue does not show a hard seam where the rule switches.
 *
 * <p>Python reference: with {@code x = ln(max(M @ rgb, 1))} ({@code M} and {@code T} below; the
 * floor keeps a black pixel from dominating the statistics, HistomicsTK instead substitutes machine
 * epsilon for exact zeros), {@code lab = T @ x}, population standard deviations over tissue pixels,
 * then {@code lab' = (lab - mean) * target_std / std + target_mean} and {@code rgb = inv(M) @
 * exp(T.T @ lab')}, clipped to [0, 255], blended, rounded half up.
 *
 * @param target the lαβ statistics tissue should end up with
 */
public record ReinhardNormalizer(LabStats target) implements StainNormalizer {
  private static final long serialVersionUID = 1L;

  /**
   * HistomicsTK's reference H&amp;E statistics, the defaults of its {@code reference_mu_lab} and
   * {@code reference_std_lab} parameters (nuclei-detection CLI and examples), used when no
   * reference image is given.
   */
  public static final LabStats HISTOMICSTK_REFERENCE = new LabStats(
      8.63234435, -0.11501964, 0.03868433, 0.57506023, 0.10403329, 0.01364062);

  /** Pixels whose smallest channel is at least this are background. */
  public static final int BACKGROUND_LEVEL = 215;

  /** Pixels whose smallest channel is at most this are mapped fully. */
  static final int FULL_MAPPING_LEVEL = 195;

  /**
   * A channel that varies less than this over a tile's tissue (lαβ units; one 8-bit step in green
   * at mid-grey moves l by about 0.005) carries no measurable variation, so matching its spread
   * would only amplify rounding: such tiles are returned unchanged.
   */
  static final double MIN_STD = 1e-3;

  /** Reinhard's RGB to LMS cone-response matrix (the product of RGB-to-XYZ and XYZ-to-LMS). */
  private static final double[][] RGB_TO_LMS = {
      {0.3811, 0.5783, 0.0402},
      {0.1967, 0.7244, 0.0782},
      {0.0241, 0.1288, 0.8444}};

  private static final double[][] LMS_TO_RGB = invert(RGB_TO_LMS);

  /*
   * With x = ln(LMS): l = R3 (xL + xM + xS), alpha = R6 (xL + xM - 2 xS), beta = R2 (xL - xM).
   * That matrix T is orthonormal, so its transpose takes lαβ back to log-LMS.
   */
  private static final double R3 = 1 / Math.sqrt(3);
  private static final double R6 = 1 / Math.sqrt(6);
  private static final double R2 = 1 / Math.sqrt(2);

  /**
   * Mean and population standard deviation of each lαβ channel over tissue pixels.
   */
  public record LabStats(double meanL, double meanAlpha, double meanBeta,
      double stdL, double stdAlpha, double stdBeta) implements Serializable {
    private static final long serialVersionUID = 1L;

    public LabStats {
      double[] all = {meanL, meanAlpha, meanBeta, stdL, stdAlpha, stdBeta};
      String[] names = {"meanL", "meanAlpha", "meanBeta", "stdL", "stdAlpha", "stdBeta"};
      for (int i = 0; i < all.length; i++) {
        if (!Double.isFinite(all[i]) || (i >= 3 && all[i] <= 0)) {
          throw new IllegalArgumentException("Reinhard target " + names[i] + " = " + all[i]
              + ": means must be finite and standard deviations positive; fit the target to a "
              + "reference image with stained tissue");
        }
      }
    }

    double[] means() {
      return new double[] {meanL, meanAlpha, meanBeta};
    }

    double[] stds() {
      return new double[] {stdL, stdAlpha, stdBeta};
    }
  }

  public ReinhardNormalizer {
    Objects.requireNonNull(target, "Reinhard target statistics");
  }

  /** Normalises towards {@link #HISTOMICSTK_REFERENCE}. */
  public static ReinhardNormalizer defaults() {
    return new ReinhardNormalizer(HISTOMICSTK_REFERENCE);
  }

  /**
   * Normalises towards the tissue statistics of a reference image.
   *
   * @throws IllegalArgumentException when the image has too little non-background tissue or no
   *     colour variation
   */
  public static ReinhardNormalizer fit(int[] rgb, int w, int h) {
    return new ReinhardNormalizer(tissueStats(rgb, w, h).orElseThrow(() ->
        new IllegalArgumentException("Reinhard reference image (" + w + "x" + h + ") has fewer "
            + "than " + StainNormalizers.minTissuePixels(w * h) + " tissue pixels (darkest "
            + "channel below " + BACKGROUND_LEVEL + ") or no colour variation: choose a reference "
            + "region that is mostly stained tissue")));
  }

  /**
   * The lαβ statistics of the tile's tissue, or empty when it has too few tissue pixels or a
   * channel without variation (the tiles {@link #normalize} leaves unchanged).
   */
  public static Optional<LabStats> tissueStats(int[] rgb, int w, int h) {
    StainNormalizers.checkTile(rgb, w, h);
    return Optional.ofNullable(stats(tissue(rgb), rgb.length));
  }

  @Override
  public int[] normalize(int[] rgb, int w, int h) {
    StainNormalizers.checkTile(rgb, w, h);
    int[] out = StainNormalizers.rgbCopy(rgb);
    Tissue tissue = tissue(rgb);
    LabStats source = stats(tissue, rgb.length);
    if (source == null) {
      return out;
    }
    double[] scale = new double[3];
    double[] shift = new double[3];
    double[] sourceMean = source.means();
    double[] sourceStd = source.stds();
    double[] targetMean = target.means();
    double[] targetStd = target.stds();
    for (int k = 0; k < 3; k++) {
      scale[k] = targetStd[k] / sourceStd[k];
      shift[k] = targetMean[k] - scale[k] * sourceMean[k];
    }
    double[] lab = tissue.lab;
    for (int t = 0; t < tissue.count; t++) {
      int i = tissue.index[t];
      double l = scale[0] * lab[3 * t] + shift[0];
      double a = scale[1] * lab[3 * t + 1] + shift[1];
      double b = scale[2] * lab[3 * t + 2] + shift[2];
      // Back through T's transpose to log-LMS, then to LMS.
      double lc = R3 * l;
      double ac = R6 * a;
      double bc = R2 * b;
      double cl = Math.exp(lc + ac + bc);
      double cm = Math.exp(lc + ac - bc);
      double cs = Math.exp(lc - 2 * ac);
      int p = rgb[i];
      int r = (p >> 16) & 0xff;
      int g = (p >> 8) & 0xff;
      int bl = p & 0xff;
      int darkest = Math.min(r, Math.min(g, bl));
      double weight = darkest <= FULL_MAPPING_LEVEL
          ? 1
          : (double) (BACKGROUND_LEVEL - darkest) / (BACKGROUND_LEVEL - FULL_MAPPING_LEVEL);
      out[i] = (blend(LMS_TO_RGB[0], cl, cm, cs, r, weight) << 16)
          | (blend(LMS_TO_RGB[1], cl, cm, cs, g, weight) << 8)
          | blend(LMS_TO_RGB[2], cl, cm, cs, bl, weight);
    }
    return out;
  }

  @Override
  public String describe() {
    return String.format(Locale.ROOT,
        "reinhard(space=lalphabeta-ln,background=min-rgb>=%d,mean=[%s,%s,%s],std=[%s,%s,%s])",
        BACKGROUND_LEVEL, target.meanL, target.meanAlpha, target.meanBeta,
        target.stdL, target.stdAlpha, target.stdBeta);
  }

  /** lαβ of one packed pixel, with the same floor as the normaliser. */
  static double[] lab(int rgb) {
    double[] lab = new double[3];
    toLab(rgb, lab, 0);
    return lab;
  }

  private static int blend(double[] row, double l, double m, double s, int original,
      double weight) {
    double mapped = row[0] * l + row[1] * m + row[2] * s;
    mapped = mapped < 0 ? 0 : Math.min(255, mapped);
    return (int) Math.floor(weight * mapped + (1 - weight) * original + 0.5);
  }

  /** Tissue pixels' indices and lαβ values, kept so the mapping does not recompute logs. */
  private record Tissue(int[] index, double[] lab, int count) {}

  private static Tissue tissue(int[] rgb) {
    int[] index = new int[rgb.length];
    double[] lab = new double[3 * rgb.length];
    int count = 0;
    for (int i = 0; i < rgb.length; i++) {
      int p = rgb[i];
      int darkest = Math.min((p >> 16) & 0xff, Math.min((p >> 8) & 0xff, p & 0xff));
      if (darkest < BACKGROUND_LEVEL) {
        index[count] = i;
        toLab(p, lab, 3 * count);
        count++;
      }
    }
    return new Tissue(index, lab, count);
  }

  private static void toLab(int p, double[] lab, int at) {
    double r = (p >> 16) & 0xff;
    double g = (p >> 8) & 0xff;
    double b = p & 0xff;
    double[] m = RGB_TO_LMS[0];
    double l = Math.log(Math.max(1, m[0] * r + m[1] * g + m[2] * b));
    m = RGB_TO_LMS[1];
    double mm = Math.log(Math.max(1, m[0] * r + m[1] * g + m[2] * b));
    m = RGB_TO_LMS[2];
    double s = Math.log(Math.max(1, m[0] * r + m[1] * g + m[2] * b));
    lab[at] = R3 * (l + mm + s);
    lab[at + 1] = R6 * (l + mm - 2 * s);
    lab[at + 2] = R2 * (l - mm);
  }

  private static LabStats stats(Tissue tissue, int pixelCount) {
    int n = tissue.count;
    if (n < StainNormalizers.minTissuePixels(pixelCount)) {
      return null;
    }
    double[] lab = tissue.lab;
    double[] mean = new double[3];
    for (int t = 0; t < n; t++) {
      for (int k = 0; k < 3; k++) {
        mean[k] += lab[3 * t + k];
      }
    }
    for (int k = 0; k < 3; k++) {
      mean[k] /= n;
    }
    // Two passes: the variance of l (a small spread around a mean near 8.6) loses digits in one.
    double[] sq = new double[3];
    for (int t = 0; t < n; t++) {
      for (int k = 0; k < 3; k++) {
        double d = lab[3 * t + k] - mean[k];
        sq[k] += d * d;
      }
    }
    double[] std = new double[3];
    for (int k = 0; k < 3; k++) {
      std[k] = Math.sqrt(sq[k] / n);
      if (std[k] < MIN_STD) {
        return null;
      }
    }
    return new LabStats(mean[0], mean[1], mean[2], std[0], std[1], std[2]);
  }

  private static double[][] invert(double[][] m) {
    double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    double[][] inv = new double[3][3];
    for (int i = 0; i < 3; i++) {
      for (int j = 0; j < 3; j++) {
        // Cofactor of m[j][i] (the adjugate is the transposed cofactor matrix).
        int r0 = (j + 1) % 3;
        int r1 = (j + 2) % 3;
        int c0 = (i + 1) % 3;
        int c1 = (i + 2) % 3;
        inv[i][j] = (m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]) / det;
      }
    }
    return inv;
  }
}
