package org.tessera.core.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Scales, bounds and determinism of the seeded initialisers. */
class InitTest {

  private static final int COUNT = 200_000;

  @Test
  void xavierUniformHasItsBoundAndVariance() {
    float[] w = Init.xavierUniform(1, 300, 100, COUNT);
    double bound = Math.sqrt(6.0 / 400);
    for (float v : w) {
      assertTrue(Math.abs(v) <= bound, v + " outside +-" + bound);
    }
    double max = 0;
    for (float v : w) {
      max = Math.max(max, Math.abs(v));
    }
    assertTrue(max > 0.99 * bound, "the bound is reached: " + max);
    checkMoments(w, 2.0 / 400);
  }

  @Test
  void xavierNormalAndHeHaveTheirVariance() {
    checkMoments(Init.xavierNormal(2, 64, 192, COUNT), 2.0 / 256);
    checkMoments(Init.he(3, 50, COUNT), 2.0 / 50);
  }

  @Test
  void aSeedGivesTheSameWeightsAndAnotherSeedOthers() {
    assertArrayEquals(Init.he(42, 10, 100), Init.he(42, 10, 100));
    assertArrayEquals(Init.xavierUniform(42, 10, 5, 100), Init.xavierUniform(42, 10, 5, 100));
    assertArrayEquals(Init.xavierNormal(42, 10, 5, 100), Init.xavierNormal(42, 10, 5, 100));
    assertFalse(Arrays.equals(Init.he(42, 10, 100), Init.he(43, 10, 100)));
    // java.util.Random's specified algorithm makes seed 42's first Gaussian 1.1419053 on every
    // JVM; fanIn 2 makes He's standard deviation 1.
    assertEquals(1.1419053f, Init.he(42, 2, 1)[0]);
  }

  @Test
  void badShapesNameTheKey() {
    String msg = assertThrows(IllegalArgumentException.class,
        () -> Init.xavierUniform(1, 3, 0, 4)).getMessage();
    assertTrue(msg.startsWith("fanOut=0"), msg);
    msg = assertThrows(IllegalArgumentException.class, () -> Init.he(1, -1, 4)).getMessage();
    assertTrue(msg.startsWith("fanIn=-1"), msg);
  }

  /** Mean within 5 standard errors of 0, variance within 2%. */
  private static void checkMoments(float[] w, double variance) {
    double sum = 0;
    double sumSq = 0;
    for (float v : w) {
      sum += v;
      sumSq += (double) v * v;
    }
    double mean = sum / w.length;
    double var = sumSq / w.length - mean * mean;
    assertTrue(Math.abs(mean) < 5 * Math.sqrt(variance / w.length), "mean " + mean);
    assertEquals(variance, var, 0.02 * variance, "variance");
  }
}
