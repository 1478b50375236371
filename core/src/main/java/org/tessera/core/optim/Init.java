package org.tessera.core.optim;

import java.util.Random;

/**
 * Seeded weight initialisation for model builders, with torch's scales (gain 1 for Xavier, ReLU's
 * sqrt(2) for He). {@link Random} is used because its algorithm is fixed by the Java specification:
 * a seed gives the same weights on every JVM, so a run's starting point is reproducible anywhere.
 */
public final class Init {

  private Init() {
  }

  /** U(-b, b) with {@code b = sqrt(6 / (fanIn + fanOut))}, like {@code xavier_uniform_}. */
  public static float[] xavierUniform(long seed, int fanIn, int fanOut, int count) {
    positive("fanIn", fanIn);
    positive("fanOut", fanOut);
    positive("count", count);
    double bound = Math.sqrt(6.0 / ((double) fanIn + fanOut));
    Random random = new Random(seed);
    float[] w = new float[count];
    for (int i = 0; i < count; i++) {
      w[i] = (float) (bound * (2 * random.nextDouble() - 1));
    }
    return w;
  }

  /** N(0, 2 / (fanIn + fanOut)), like {@code xavier_normal_}. */
  public static float[] xavierNormal(long seed, int fanIn, int fanOut, int count) {
    positive("fanIn", fanIn);
    positive("fanOut", fanOut);
    positive("count", count);
    return normal(seed, Math.sqrt(2.0 / ((double) fanIn + fanOut)), count);
  }

  /** N(0, 2 / fanIn), like {@code kaiming_normal_(mode='fan_in', nonlinearity='relu')}. */
  public static float[] he(long seed, int fanIn, int count) {
    positive("fanIn", fanIn);
    positive("count", count);
    return normal(seed, Math.sqrt(2.0 / fanIn), count);
  }

  private static float[] normal(long seed, double std, int count) {
    Random random = new Random(seed);
    float[] w = new float[count];
    for (int i = 0; i < count; i++) {
      w[i] = (float) (std * random.nextGaussian());
    }
    return w;
  }

  private static void positive(String key, int v) {
    if (v <= 0) {
      throw new IllegalArgumentException(key + "=" + v + " must be > 0");
    }
  }
}
