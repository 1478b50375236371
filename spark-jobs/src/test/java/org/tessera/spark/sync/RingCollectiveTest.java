package org.tessera.spark.sync;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The ring all-reduce with K ranks as threads over loopback TCP: sums against double-precision
 * references, bit-identical results across ranks, traffic of 2(K-1)/K of the array per rank, and
 * many calls of both element types over the same connections.
 */
class RingCollectiveTest {

  @ParameterizedTest
  @ValueSource(ints = {2, 3, 4})
  void everyRankGetsTheSameSumForEveryLength(int k) throws Exception {
    int[] lengths = {0, 1, k - 1, 1000, 1_000_003, 1000, 1};
    try (LoopbackRing ring = LoopbackRing.open(k, RingSettings.defaults())) {
      long call = 0;
      for (int n : lengths) {
        for (boolean doubles : new boolean[] {false, true}) {
          call++;
          long seed = 31L * call + n;
          double[] expected = new double[n];
          double[] sumAbs = new double[n];
          for (int r = 0; r < k; r++) {
            double[] x = values(seed, r, n);
            for (int i = 0; i < n; i++) {
              expected[i] += x[i];
              sumAbs[i] += Math.abs(x[i]);
            }
          }
          String what = (doubles ? "double[" : "float[") + n + "], K=" + k;
          if (doubles) {
            List<double[]> got = ring.all(c -> {
              double[] d = values(seed, c.rank(), n);
              c.allReduceSum(d);
              return d;
            });
            for (int r = 0; r < k; r++) {
              assertArrayEquals(got.get(0), got.get(r), "rank " + r + " differs, " + what);
            }
            for (int i = 0; i < n; i++) {
              assertEquals(expected[i], got.get(0)[i], k * Math.ulp(sumAbs[i]), what + " @" + i);
            }
          } else {
            List<float[]> got = ring.all(c -> {
              float[] f = toFloats(values(seed, c.rank(), n));
              c.allReduceSum(f);
              return f;
            });
            for (int r = 0; r < k; r++) {
              assertArrayEquals(got.get(0), got.get(r), "rank " + r + " differs, " + what);
            }
            for (int i = 0; i < n; i++) {
              // Inputs were rounded to float, then K-1 float additions.
              double tol = 2 * k * Math.ulp((float) sumAbs[i]);
              assertEquals(expected[i], got.get(0)[i], tol, what + " @" + i);
            }
          }
        }
      }
      for (RingCollective c : ring.ranks) {
        assertEquals(call, c.stats().calls());
      }
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {2, 3, 4})
  void eachRankSendsTwoKMinusOneOverKOfTheArray(int k) throws Exception {
    int n = 1 << 20;
    try (LoopbackRing ring = LoopbackRing.open(k, RingSettings.defaults())) {
      List<SyncStats> stats = ring.all(c -> {
        SyncStats before = c.stats();
        c.allReduceSum(new float[n]);
        return c.stats().minus(before);
      });
      double ideal = 2.0 * (k - 1) / k * n * Float.BYTES;
      for (SyncStats s : stats) {
        assertEquals(1, s.calls());
        // Chunks differ by at most one element; headers are 24 bytes per step.
        assertEquals(ideal, s.bytesSent(), 2 * (k - 1) * (24 + Float.BYTES));
        assertEquals(ideal, s.bytesReceived(), 2 * (k - 1) * (24 + Float.BYTES));
        assertTrue(s.nanos() > 0);
      }
    }
  }

  @Test
  void aGroupOfOneNeedsNoPeers() throws Exception {
    try (LoopbackRing ring = LoopbackRing.open(1, RingSettings.defaults())) {
      float[] f = {1.5f, -2f};
      ring.ranks.get(0).allReduceSum(f);
      assertArrayEquals(new float[] {1.5f, -2f}, f);
      assertEquals(1, ring.ranks.get(0).size());
    }
  }

  static double[] values(long seed, int rank, int n) {
    SplittableRandom rnd = new SplittableRandom(seed * 1_000_003L + rank);
    double[] x = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = rnd.nextDouble(-1, 1) * Math.exp(rnd.nextDouble(-8, 8));
    }
    return x;
  }

  static float[] toFloats(double[] x) {
    float[] f = new float[x.length];
    for (int i = 0; i < x.length; i++) {
      f[i] = (float) x[i];
    }
    return f;
  }
}
