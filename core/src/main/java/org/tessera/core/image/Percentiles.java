package org.tessera.core.image;

import java.util.function.DoubleUnaryOperator;

/**
 * Percentiles with NumPy's default ("linear") definition, so a Python reference of the stain
 * normalisers reproduces the same robust extremes: for {@code n} values sorted ascending, the p-th
 * percentile sits at fractional rank {@code p / 100 * (n - 1)} and interpolates linearly between
 * its two neighbours. Found by selection in expected linear time rather than by sorting, because
 * every tile needs several percentiles of tens of thousands of values.
 */
final class Percentiles {
  private Percentiles() {}

  /**
   * The p-th percentile of {@code values[0..n)}. Reorders those values (callers pass scratch
   * arrays).
   */
  static double percentile(double[] values, int n, double p) {
    return percentile(values, n, p, DoubleUnaryOperator.identity());
  }

  /**
   * The p-th percentile of {@code f(values[i])} for a strictly increasing {@code f}, applying
   * {@code f} only to the two order statistics that are interpolated: ranking by the values ranks
   * by {@code f} too, so an expensive {@code f} is paid twice instead of n times. Reorders
   * {@code values[0..n)}.
   */
  static double percentile(double[] values, int n, double p, DoubleUnaryOperator f) {
    if (n <= 0 || n > values.length) {
      throw new IllegalArgumentException(
          "percentile: count " + n + " must be in 1.." + values.length);
    }
    if (!(p >= 0 && p <= 100)) {
      throw new IllegalArgumentException("percentile: p = " + p + " must be in [0, 100]");
    }
    double rank = p / 100 * (n - 1);
    int lo = (int) Math.floor(rank);
    double frac = rank - lo;
    double low = f.applyAsDouble(select(values, n, lo));
    if (frac == 0) {
      return low;
    }
    // After selection everything right of lo is >= values[lo]; the next order statistic is the
    // smallest of them.
    double high = Double.POSITIVE_INFINITY;
    for (int i = lo + 1; i < n; i++) {
      high = Math.min(high, values[i]);
    }
    return low + frac * (f.applyAsDouble(high) - low);
  }

  /** Quickselect (Hoare partition, median-of-three pivot): places the k-th smallest at index k. */
  private static double select(double[] a, int n, int k) {
    int left = 0;
    int right = n - 1;
    while (right > left) {
      int mid = (left + right) >>> 1;
      // Order a[left] <= a[mid] <= a[right] so the median of three is the pivot and sentinels
      // bound both scans.
      if (a[mid] < a[left]) {
        swap(a, mid, left);
      }
      if (a[right] < a[left]) {
        swap(a, right, left);
      }
      if (a[right] < a[mid]) {
        swap(a, right, mid);
      }
      double pivot = a[mid];
      int i = left;
      int j = right;
      while (i <= j) {
        while (a[i] < pivot) {
          i++;
        }
        while (a[j] > pivot) {
          j--;
        }
        if (i <= j) {
          swap(a, i, j);
          i++;
          j--;
        }
      }
      if (k <= j) {
        right = j;
      } else if (k >= i) {
        left = i;
      } else {
        return a[k];
      }
    }
    return a[k];
  }

  private static void swap(double[] a, int i, int j) {
    double t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}
