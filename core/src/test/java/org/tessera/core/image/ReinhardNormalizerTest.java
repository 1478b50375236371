package org.tessera.core.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.tessera.core.image.ReinhardNormalizer.LabStats;

class ReinhardNormalizerTest {
  private static final int SIZE = 224;

  /** numpy.linalg.inv of Reinhard's RGB-to-LMS matrix. */
  private static final double[][] LMS_TO_RGB = {
      {4.468669863496255, -3.588675903472126, 0.11960436657860114},
      {-1.2197166276177631, 2.3830879129554567, -0.16263011175140055},
      {0.058508476938545856, -0.2610784390276937, 1.205665908525623}};

  @Test
  void lalphabetaMatchesTheDefinition() {
    // NumPy: T @ ln(max(M @ rgb, 1)), T and M as documented in ReinhardNormalizer.
    assertArrayEquals(new double[] {9.595553771366095, 0.0017583164108301863,
        0.00021224877277320445}, ReinhardNormalizer.lab(0xffffff), 1e-12);
    assertArrayEquals(new double[] {8.451936525657967, -0.10929364810633148,
        0.07234654247684127}, ReinhardNormalizer.lab(0xb46496), 1e-12);
    assertArrayEquals(new double[] {8.023744309066469, 0.6636769556879707,
        -0.15133880349932102}, ReinhardNormalizer.lab(0x0ac828), 1e-12);
    // The floor at one keeps black finite.
    assertArrayEquals(new double[] {0, 0, 0}, ReinhardNormalizer.lab(0), 0);
  }

  @Test
  void tissueTakesTheTargetStatistics() {
    int[] reference = SyntheticStains.tile(SyntheticStains.SHIFTED_H, SyntheticStains.SHIFTED_E,
        SIZE, 0.2, 0.8, 1.5, 31);
    int[] source = SyntheticStains.tile(MacenkoNormalizer.DEFAULT_REFERENCE.hematoxylin(),
        MacenkoNormalizer.DEFAULT_REFERENCE.eosin(), SIZE, 0.4, 1.1, 1.5, 32);
    ReinhardNormalizer norm = ReinhardNormalizer.fit(reference, SIZE, SIZE);
    LabStats target = norm.target();
    LabStats before = ReinhardNormalizer.tissueStats(source, SIZE, SIZE).orElseThrow();
    LabStats after = ReinhardNormalizer.tissueStats(norm.normalize(source, SIZE, SIZE), SIZE, SIZE)
        .orElseThrow();
    double[] t = {target.meanL(), target.meanAlpha(), target.meanBeta(),
        target.stdL(), target.stdAlpha(), target.stdBeta()};
    double[] b = {before.meanL(), before.meanAlpha(), before.meanBeta(),
        before.stdL(), before.stdAlpha(), before.stdBeta()};
    double[] a = {after.meanL(), after.meanAlpha(), after.meanBeta(),
        after.stdL(), after.stdAlpha(), after.stdBeta()};
    for (int k = 0; k < 3; k++) {
      double std = t[k + 3];
      // Means within 5% of a standard deviation, standard deviations within 5%: what 8-bit
      // rounding and clipping leave.
      assertEquals(t[k], a[k], 0.05 * std, "mean " + k + " before " + b[k]);
      assertEquals(t[k + 3], a[k + 3], 0.05 * std, "std " + k + " before " + b[k + 3]);
      assertTrue(Math.abs(t[k] - b[k]) > 0.2 * std, "the test needs a real shift, channel " + k);
    }
  }

  @Test
  void everyPixelFollowsTheDocumentedFormula() {
    int[] tile = SyntheticStains.tile(SyntheticStains.SHIFTED_H, SyntheticStains.SHIFTED_E,
        SIZE, 0.3, 1, 1.5, 33);
    tile[0] = 0xf0f0f0; // background
    tile[1] = 0xd7d9e4; // darkest channel 215: background
    tile[2] = 0xe6c8d2; // darkest channel 200: pale tissue, three quarters mapped
    tile[3] = 0xe6c3d2; // darkest channel 195: fully mapped
    ReinhardNormalizer norm = ReinhardNormalizer.defaults();
    int[] out = norm.normalize(tile, SIZE, SIZE);
    LabStats s = ReinhardNormalizer.tissueStats(tile, SIZE, SIZE).orElseThrow();
    LabStats t = norm.target();
    double[] sm = {s.meanL(), s.meanAlpha(), s.meanBeta()};
    double[] ss = {s.stdL(), s.stdAlpha(), s.stdBeta()};
    double[] tm = {t.meanL(), t.meanAlpha(), t.meanBeta()};
    double[] ts = {t.stdL(), t.stdAlpha(), t.stdBeta()};
    int changed = 0;
    for (int i = 0; i < tile.length; i++) {
      int p = tile[i];
      int[] c = {(p >> 16) & 0xff, (p >> 8) & 0xff, p & 0xff};
      int darkest = Math.min(c[0], Math.min(c[1], c[2]));
      if (darkest >= 215) {
        assertEquals(p, out[i], "background pixel " + i + " is untouched");
        continue;
      }
      double weight = Math.min(1, (215 - darkest) / 20.0);
      double[] lab = ReinhardNormalizer.lab(p);
      double[] mapped = new double[3];
      for (int k = 0; k < 3; k++) {
        mapped[k] = (lab[k] - sm[k]) * ts[k] / ss[k] + tm[k];
      }
      double[] lms = {
          Math.exp(mapped[0] / Math.sqrt(3) + mapped[1] / Math.sqrt(6) + mapped[2] / Math.sqrt(2)),
          Math.exp(mapped[0] / Math.sqrt(3) + mapped[1] / Math.sqrt(6) - mapped[2] / Math.sqrt(2)),
          Math.exp(mapped[0] / Math.sqrt(3) - 2 * mapped[1] / Math.sqrt(6))};
      for (int k = 0; k < 3; k++) {
        double v = LMS_TO_RGB[k][0] * lms[0] + LMS_TO_RGB[k][1] * lms[1]
            + LMS_TO_RGB[k][2] * lms[2];
        v = Math.max(0, Math.min(255, v));
        double expected = weight * v + (1 - weight) * c[k];
        int got = (out[i] >> (16 - 8 * k)) & 0xff;
        assertEquals(expected, got, 0.5 + 1e-9, "pixel " + i + " channel " + k);
      }
      changed += out[i] != p ? 1 : 0;
    }
    assertTrue(changed > tile.length / 2, "tissue was normalised: " + changed);
    assertTrue(out[2] != tile[2] && out[3] != tile[3]);
  }

  @Test
  void identityWhenTheTargetIsTheTilesOwnStatistics() {
    int[] tile = SyntheticStains.tile(SyntheticStains.SHIFTED_H, SyntheticStains.SHIFTED_E,
        SIZE, 0.3, 1, 1.5, 34);
    int[] out = ReinhardNormalizer.fit(tile, SIZE, SIZE).normalize(tile, SIZE, SIZE);
    assertArrayEquals(tile, out);
  }

  @Test
  void degenerateTilesComeBackUnchanged() {
    int n = 32 * 32;
    int[] white = new int[n];
    Arrays.fill(white, 0xffffff);
    int[] single = new int[n];
    Arrays.fill(single, 0x9650a0);
    int[] fewTissue = white.clone();
    for (int i = 0; i < 20; i++) {
      fewTissue[i * 37] = 0x9650a0 + i;
    }
    ReinhardNormalizer norm = ReinhardNormalizer.defaults();
    for (int[] tile : new int[][] {white, single, fewTissue}) {
      assertEquals(Optional.empty(), ReinhardNormalizer.tissueStats(tile, 32, 32));
      assertArrayEquals(tile, norm.normalize(tile, 32, 32));
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ReinhardNormalizer.fit(white, 32, 32));
    assertTrue(e.getMessage().contains("fewer than 64 tissue pixels"), e.getMessage());
  }

  @Test
  void defaultTargetMovesTissueTowardsIt() {
    int[] tile = SyntheticStains.tile(SyntheticStains.SHIFTED_H, SyntheticStains.SHIFTED_E,
        SIZE, 0.3, 1.4, 1.5, 35);
    LabStats target = ReinhardNormalizer.HISTOMICSTK_REFERENCE;
    LabStats before = ReinhardNormalizer.tissueStats(tile, SIZE, SIZE).orElseThrow();
    LabStats after = ReinhardNormalizer.tissueStats(
        ReinhardNormalizer.defaults().normalize(tile, SIZE, SIZE), SIZE, SIZE).orElseThrow();
    assertCloser(target, before, after);
  }

  @Test
  void validationAndDescription() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new LabStats(8, 0, 0, 0.5, 0, 0.01));
    assertTrue(e.getMessage().contains("stdAlpha = 0.0"), e.getMessage());
    assertEquals("reinhard(space=lalphabeta-ln,background=min-rgb>=215,"
        + "mean=[8.63234435,-0.11501964,0.03868433],std=[0.57506023,0.10403329,0.01364062])",
        ReinhardNormalizer.defaults().describe());
  }

  /** Each channel's mean is closer to the target's after normalisation than before, in target
   * standard deviations, and so is each standard deviation. */
  static void assertCloser(LabStats target, LabStats before, LabStats after) {
    double[][] rows = new double[3][];
    int r = 0;
    for (LabStats s : new LabStats[] {target, before, after}) {
      rows[r++] = new double[] {s.meanL(), s.meanAlpha(), s.meanBeta(),
          s.stdL(), s.stdAlpha(), s.stdBeta()};
    }
    for (int k = 0; k < 6; k++) {
      double was = Math.abs(rows[1][k] - rows[0][k]);
      double now = Math.abs(rows[2][k] - rows[0][k]);
      assertTrue(now < was || now < 0.05 * rows[0][3 + k % 3],
          "statistic " + k + ": target " + rows[0][k] + ", before " + rows[1][k] + ", after "
              + rows[2][k]);
    }
  }
}
