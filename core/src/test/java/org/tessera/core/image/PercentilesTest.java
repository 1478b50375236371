package org.tessera.core.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PercentilesTest {

  @Test
  void matchesNumpyLinearDefinitionOnSortedCopies() {
    Random rnd = new Random(3);
    double[] ps = {0, 1, 2.5, 33.3, 50, 99, 100};
    for (int trial = 0; trial < 300; trial++) {
      int n = 1 + rnd.nextInt(trial < 100 ? 10 : 3000);
      double[] values = new double[n];
      for (int i = 0; i < n; i++) {
        // Few distinct values half the time: ties must not break the selection.
        values[i] = trial % 2 == 0 ? rnd.nextInt(4) : rnd.nextGaussian();
      }
      double[] sorted = values.clone();
      Arrays.sort(sorted);
      for (double p : ps) {
        double rank = p / 100 * (n - 1);
        int lo = (int) Math.floor(rank);
        int hi = Math.min(n - 1, lo + 1);
        double expected = sorted[lo] + (rank - lo) * (sorted[hi] - sorted[lo]);
        assertEquals(expected, Percentiles.percentile(values.clone(), n, p), 1e-12,
            "n=" + n + " p=" + p);
      }
    }
  }

  @Test
  void knownValues() {
    // numpy.percentile([1, 2, 3, 4], [0, 25, 99, 100]) = [1, 1.75, 3.97, 4]
    assertEquals(1.75, Percentiles.percentile(new double[] {4, 1, 3, 2}, 4, 25), 1e-15);
    assertEquals(3.97, Percentiles.percentile(new double[] {4, 1, 3, 2}, 4, 99), 1e-15);
    assertEquals(4, Percentiles.percentile(new double[] {4, 1, 3, 2, 99}, 4, 100), 0);
  }

  @Test
  void rejectsBadArguments() {
    assertThrows(IllegalArgumentException.class,
        () -> Percentiles.percentile(new double[3], 0, 50));
    assertThrows(IllegalArgumentException.class,
        () -> Percentiles.percentile(new double[3], 3, 101));
  }
}
