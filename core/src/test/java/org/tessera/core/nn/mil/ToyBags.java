package org.tessera.core.nn.mil;

import java.util.SplittableRandom;
import org.tessera.core.data.Bag;

/**
 * Synthetic bags: Gaussian background instances; a bag of class c > 0 also holds a few instances
 * shifted along feature direction c - 1, the multiple-instance signal the heads must find.
 */
final class ToyBags {

  private ToyBags() {}

  static Bag random(String id, int n, int dim, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] f = new float[n * dim];
    for (int i = 0; i < f.length; i++) {
      f[i] = (float) r.nextGaussian();
    }
    return new Bag(id, n, dim, f, gridX(n), gridY(n));
  }

  static Bag labelled(String id, int label, int n, int dim, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] f = new float[n * dim];
    for (int i = 0; i < f.length; i++) {
      f[i] = (float) (0.5 * r.nextGaussian());
    }
    if (label > 0) {
      int witnesses = 2 + r.nextInt(3);
      for (int w = 0; w < witnesses; w++) {
        int i = r.nextInt(n);
        f[i * dim + (label - 1)] += 3f;
      }
    }
    return new Bag(id, n, dim, f, gridX(n), gridY(n));
  }

  private static int[] gridX(int n) {
    int[] x = new int[n];
    for (int i = 0; i < n; i++) {
      x[i] = 1000 + 256 * (i % 17);
    }
    return x;
  }

  private static int[] gridY(int n) {
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      y[i] = 512 + 256 * (i / 17);
    }
    return y;
  }
}
