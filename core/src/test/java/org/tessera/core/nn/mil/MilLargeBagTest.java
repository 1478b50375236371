package org.tessera.core.nn.mil;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.tessera.core.data.Bag;

/**
 * A bag of 100,000 x 1024 features (the largest slides) through one gated-attention training step
 * in surefire's default heap: features are copied off-heap once and every activation is O(n).
 */
class MilLargeBagTest {

  @Test
  void hundredThousandInstancesFitOneStep() {
    int n = 100_000;
    int dim = 1024;
    SplittableRandom r = new SplittableRandom(1);
    float[] f = new float[n * dim];
    for (int i = 0; i < f.length; i++) {
      f[i] = (float) r.nextGaussian();
    }
    int[] x = new int[n];
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      x[i] = 256 * (i % 400);
      y[i] = 256 * (i / 400);
    }
    Bag bag = new Bag("large", n, dim, f, x, y);
    try (MilModel m = MilModel.create(MilConfig.defaults("gated-abmil", dim, 2), 1)) {
      double[] grad = new double[m.numParams()];
      long t0 = System.nanoTime();
      double loss = m.accumulateGradient(bag, 1, 3, grad);
      double seconds = (System.nanoTime() - t0) / 1e9;
      double norm = 0;
      for (double g : grad) {
        norm += g * g;
      }
      System.out.printf("gated-abmil %d x %d: loss %.4f, |grad| %.4g, %.2f s, max heap %d MB%n",
          n, dim, loss, Math.sqrt(norm), seconds, Runtime.getRuntime().maxMemory() >> 20);
      assertTrue(Double.isFinite(loss) && norm > 0 && Double.isFinite(norm));
      assertEquals(n, m.predict(bag).attention()[0].length);
    }
  }
}
