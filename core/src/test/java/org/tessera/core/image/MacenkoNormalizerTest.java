package org.tessera.core.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.tessera.core.image.MacenkoNormalizer.StainReference;
import org.tessera.core.image.MacenkoNormalizer.StainVector;

class MacenkoNormalizerTest {
  private static final StainReference REF = MacenkoNormalizer.DEFAULT_REFERENCE;
  private static final int SIZE = 224;
  /** Sensor noise of synthetic tiles, in 8-bit levels. */
  private static final double NOISE = 1.5;

  @Test
  void estimatesTheStainVectorsATileWasMixedFrom() {
    for (double background : new double[] {0, 0.3, 0.8}) {
      int[] tile = SyntheticStains.tile(SyntheticStains.SHIFTED_H, SyntheticStains.SHIFTED_E,
          SIZE, background, 1, NOISE, 17);
      StainReference est = MacenkoNormalizer.estimate(tile, SIZE, SIZE).orElseThrow();
      assertAngleBelow(3, SyntheticStains.SHIFTED_H, est.hematoxylin(), "H, bg " + background);
      assertAngleBelow(3, SyntheticStains.SHIFTED_E, est.eosin(), "E, bg " + background);

      tile = SyntheticStains.tile(REF.hematoxylin(), REF.eosin(), SIZE, background, 1, NOISE,
          18);
      est = MacenkoNormalizer.estimate(tile, SIZE, SIZE).orElseThrow();
      assertAngleBelow(3, REF.hematoxylin(), est.hematoxylin(), "ref H, bg " + background);
      assertAngleBelow(3, REF.eosin(), est.eosin(), "ref E, bg " + background);
    }
  }

  @Test
  void tileStainedLikeTheReferenceIsNearlyUnchanged() {
    int[] tile = SyntheticStains.tile(REF.hematoxylin(), REF.eosin(), SIZE, 0.3, 1, NOISE, 21);
    StainReference own = MacenkoNormalizer.estimate(tile, SIZE, SIZE).orElseThrow();
    // The reference stains, with the tile's own concentration scale.
    MacenkoNormalizer norm = new MacenkoNormalizer(
        new StainReference(REF.hematoxylin(), REF.eosin(), own.maxHematoxylin(), own.maxEosin()));
    double diff = SyntheticStains.meanAbsDiff(tile, norm.normalize(tile, SIZE, SIZE));
    assertTrue(diff < 2, "mean abs difference " + diff);
  }

  @Test
  void tileFittedToItselfKeepsItsTissueColours() {
    // Without noise every tissue OD is an exact mix of the two stains, so only rounding remains;
    // the white background, whose OD is no such mix, moves to its projection on the stain plane.
    int[] tile = SyntheticStains.tile(REF.hematoxylin(), REF.eosin(), SIZE, 0.3, 1, 0, 22);
    int[] self = MacenkoNormalizer.fit(tile, SIZE, SIZE).normalize(tile, SIZE, SIZE);
    int[] tissue = tile.clone();
    int[] selfTissue = self.clone();
    for (int i = 0; i < tile.length; i++) {
      if (tile[i] == 0xffffff) {
        tissue[i] = 0;
        selfTissue[i] = 0;
      }
    }
    double tissueDiff = SyntheticStains.meanAbsDiff(tissue, selfTissue);
    assertTrue(tissueDiff < 0.1, "self-fit tissue difference " + tissueDiff);
    double diff = SyntheticStains.meanAbsDiff(tile, self);
    assertTrue(diff < 1, "self-fit difference " + diff);
  }

  @Test
  void differentlyStainedTileMovesToTheReference() {
    int[] tile = SyntheticStains.tile(SyntheticStains.SHIFTED_H, SyntheticStains.SHIFTED_E,
        SIZE, 0.3, 1.3, NOISE, 5);
    int[] out = MacenkoNormalizer.defaults().normalize(tile, SIZE, SIZE);
    StainReference after = MacenkoNormalizer.estimate(out, SIZE, SIZE).orElseThrow();
    assertAngleBelow(3, REF.hematoxylin(), after.hematoxylin(), "H after");
    assertAngleBelow(3, REF.eosin(), after.eosin(), "E after");
    assertEquals(REF.maxHematoxylin(), after.maxHematoxylin(), 0.1 * REF.maxHematoxylin());
    assertEquals(REF.maxEosin(), after.maxEosin(), 0.1 * REF.maxEosin());
    for (int i = 0; i < tile.length; i++) {
      if (tile[i] == 0xffffff) {
        assertTrue(minChannel(out[i]) >= 240, "white background stays near white: "
            + Integer.toHexString(out[i]));
      }
    }
  }

  @Test
  void degenerateTilesComeBackUnchanged() {
    int n = 32 * 32;
    int[] white = new int[n];
    Arrays.fill(white, 0xffffff);
    int[] single = new int[n];
    Arrays.fill(single, 0x9650a0);
    int[] black = new int[n];
    int[] fewTissue = white.clone();
    for (int i = 0; i < 20; i++) {
      fewTissue[i * 37] = SyntheticStains.render(REF.hematoxylin(), REF.eosin(), 1, 0.5);
    }
    // Hematoxylin only: the second direction is rounding noise.
    int[] oneStain = new int[n];
    for (int i = 0; i < n; i++) {
      oneStain[i] = SyntheticStains.render(REF.hematoxylin(), REF.eosin(), 0.3 + 1.5 * i / n, 0);
    }
    int[] withAlpha = single.clone();
    withAlpha[0] |= 0xff000000;
    MacenkoNormalizer norm = MacenkoNormalizer.defaults();
    for (int[] tile : new int[][] {white, single, black, fewTissue, oneStain, withAlpha}) {
      assertEquals(Optional.empty(), MacenkoNormalizer.estimate(tile, 32, 32));
      int[] out = norm.normalize(tile, 32, 32);
      int[] expected = tile.clone();
      expected[0] &= 0xffffff;
      assertArrayEquals(expected, out);
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> MacenkoNormalizer.fit(white, 32, 32));
    assertTrue(e.getMessage().contains("only 0 of 1024 pixels"), e.getMessage());
  }

  @Test
  void inputIsNotModifiedAndOutputHasNoAlpha() {
    int[] tile = SyntheticStains.tile(SyntheticStains.SHIFTED_H, SyntheticStains.SHIFTED_E,
        64, 0.2, 1, NOISE, 8);
    for (int i = 0; i < tile.length; i++) {
      tile[i] |= 0xff000000;
    }
    int[] copy = tile.clone();
    int[] out = MacenkoNormalizer.defaults().normalize(tile, 64, 64);
    assertArrayEquals(copy, tile);
    assertTrue(Arrays.stream(out).allMatch(p -> (p >>> 24) == 0));
    assertNotEquals(SyntheticStains.meanAbsDiff(tile, out), 0.0);
  }

  @Test
  void referenceValidation() {
    StainVector h = REF.hematoxylin();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new StainReference(h, h, 1, 1));
    assertTrue(e.getMessage().contains("degrees apart; they must be at least 5.0"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> new StainReference(h, REF.eosin(), 0, 1));
    assertTrue(e.getMessage().contains("maxHematoxylin=0.0"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new StainVector(0, 0, 0));
    assertThrows(IllegalArgumentException.class, () -> new StainVector(Double.NaN, 1, 0));
  }

  @Test
  void describeStatesMethodConstantsAndReference() {
    assertEquals("macenko(io=240.0,alpha=1.0,beta=0.15,h=[0.5626,0.7201,0.4062],"
        + "e=[0.2159,0.8012,0.5581],max-c=[1.9705,1.0308])",
        MacenkoNormalizer.defaults().describe());
    int[] tile = SyntheticStains.tile(SyntheticStains.SHIFTED_H, SyntheticStains.SHIFTED_E,
        64, 0.2, 1, NOISE, 8);
    assertNotEquals(MacenkoNormalizer.defaults().describe(),
        MacenkoNormalizer.fit(tile, 64, 64).describe());
  }

  static void assertAngleBelow(double degrees, StainVector expected, StainVector actual,
      String what) {
    double angle = expected.angleDegrees(actual);
    assertTrue(angle < degrees, what + ": " + actual + " is " + angle + " degrees from "
        + expected);
  }

  private static int minChannel(int p) {
    return Math.min((p >> 16) & 0xff, Math.min((p >> 8) & 0xff, p & 0xff));
  }
}
