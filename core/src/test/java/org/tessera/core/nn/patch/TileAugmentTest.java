package org.tessera.core.nn.patch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TileAugmentTest {

  private static float[] tile(int size) {
    float[] t = new float[3 * size * size];
    for (int i = 0; i < t.length; i++) {
      t[i] = (i % 97) / 96f;
    }
    return t;
  }

  @Test
  void isAPureFunctionOfSeedEpochAndTile() {
    float[] t = tile(8);
    assertArrayEquals(TileAugment.apply(t, 8, 1, 2, 3), TileAugment.apply(t, 8, 1, 2, 3));
    Set<String> variants = new HashSet<>();
    for (int id = 0; id < 20; id++) {
      variants.add(Arrays.toString(TileAugment.apply(t, 8, 1, 2, id)));
    }
    assertTrue(variants.size() > 15, "tile ids should give different augmentations");
    assertFalse(Arrays.equals(TileAugment.apply(t, 8, 1, 2, 3), TileAugment.apply(t, 8, 1, 3, 3)),
        "another epoch should augment differently");
  }

  @Test
  void orientationsAreTheEightSymmetriesOfTheSquare() {
    int size = 3;
    float[] t = tile(size);
    Set<String> seen = new HashSet<>();
    for (boolean flip : new boolean[] {false, true}) {
      for (int turns = 0; turns < 4; turns++) {
        float[] o = TileAugment.orient(t, size, flip, turns);
        float[] sorted = o.clone();
        float[] original = t.clone();
        Arrays.sort(sorted);
        Arrays.sort(original);
        assertArrayEquals(original, sorted, "pixels are moved, never changed");
        seen.add(Arrays.toString(o));
      }
    }
    assertEquals(8, seen.size());
    // One quarter turn counter-clockwise moves the top-right pixel to the top-left.
    assertEquals(t[size - 1], TileAugment.orient(t, size, false, 1)[0]);
  }

  @Test
  void jitterIsMildAndStaysInRange() {
    float[] t = tile(16);
    float[] a = TileAugment.apply(t, 16, 7, 0, 0);
    double meanIn = 0;
    double meanOut = 0;
    for (int i = 0; i < t.length; i++) {
      assertTrue(a[i] >= 0 && a[i] <= 1);
      meanIn += t[i];
      meanOut += a[i];
    }
    assertEquals(1, meanOut / meanIn, 0.25);
  }
}
