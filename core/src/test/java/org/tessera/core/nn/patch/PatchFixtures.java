package org.tessera.core.nn.patch;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.tessera.core.nn.StateDicts;

/** Shared inputs and comparisons of the patch network tests. */
final class PatchFixtures {

  private PatchFixtures() {}

  /**
   * The round-0 small-cnn encoder for {@code seed}, with batch norm parameters and running
   * statistics moved off the identity so that every term of the BN maths is exercised.
   */
  static Map<String, float[]> smallCnnState(int inputSize, long seed) {
    Map<String, float[]> state = new LinkedHashMap<>(StateDicts.initial("small-cnn", inputSize,
        seed));
    Random random = new Random(seed + 1);
    for (Map.Entry<String, float[]> e : state.entrySet()) {
      String key = e.getKey();
      float[] v = e.getValue();
      for (int i = 0; i < v.length; i++) {
        if (key.endsWith("bn.weight")) {
          v[i] = (float) (0.5 + random.nextDouble());
        } else if (key.endsWith("bn.bias") || key.endsWith("running_mean")) {
          v[i] = (float) (0.4 * random.nextGaussian());
        } else if (key.endsWith("running_var")) {
          v[i] = (float) (0.5 + random.nextDouble());
        }
      }
    }
    return state;
  }

  /** Tiles [n, 3, size, size] with values around the range of normalised RGB. */
  static float[] tiles(int n, int size, long seed) {
    Random random = new Random(seed);
    float[] x = new float[n * 3 * size * size];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (random.nextGaussian() + 0.3);
    }
    return x;
  }

  static INDArray batch(float[] tiles, int from, int to, int size) {
    int per = 3 * size * size;
    float[] part = java.util.Arrays.copyOfRange(tiles, from * per, to * per);
    return Nd4j.create(part, new long[] {to - from, 3, size, size}, 'c');
  }

  static int[] labels(int n, int classes, long seed) {
    Random random = new Random(seed);
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      y[i] = random.nextInt(classes);
    }
    return y;
  }

  /** max |a - b| divided by max |b| (at least 1e-12): an error relative to the tensor's scale. */
  static double relError(float[] a, float[] b) {
    if (a.length != b.length) {
      throw new AssertionError("lengths " + a.length + " and " + b.length + " differ");
    }
    double diff = 0;
    double scale = 1e-12;
    for (int i = 0; i < a.length; i++) {
      diff = Math.max(diff, Math.abs(a[i] - b[i]));
      scale = Math.max(scale, Math.abs(b[i]));
    }
    return diff / scale;
  }

  static float[] flat(float[][] m) {
    int n = 0;
    for (float[] r : m) {
      n += r.length;
    }
    float[] out = new float[n];
    int k = 0;
    for (float[] r : m) {
      System.arraycopy(r, 0, out, k, r.length);
      k += r.length;
    }
    return out;
  }
}
