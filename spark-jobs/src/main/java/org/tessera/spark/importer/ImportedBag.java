package org.tessera.spark.importer;

import java.io.IOException;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * One slide's imported instances before they are written: level-0 origins, the level they were read
 * at, and {@code n x dim} features row-major in the source's order. {@link #sorted} gives the order
 * Tessera stores: by y, then x (row-major from the top left), whatever order the source had, so an
 * import of the same instances is the same file.
 */
record ImportedBag(String slideId, String source, long[] x, long[] y, int level, float[] features,
    int dim) {

  int n() {
    return x.length;
  }

  /**
   * The bag in (y, x) order after the checks every source shares: instances present, finite
   * features, one instance per position. A failure names the source and what to do.
   */
  ImportedBag sorted() throws IOException {
    int n = n();
    if (n == 0) {
      throw new IOException(source + ": no instances for " + slideId + ": drop the slide or"
          + " re-extract its features");
    }
    for (int i = 0; i < features.length; i++) {
      if (!Float.isFinite(features[i])) {
        throw new IOException(source + ": feature " + (i % dim) + " of instance " + (i / dim)
            + " is " + features[i] + ": re-extract the features of " + slideId
            + " or leave the slide out");
      }
    }
    Integer[] order = IntStream.range(0, n).boxed().toArray(Integer[]::new);
    Arrays.sort(order, Comparator.<Integer>comparingLong(i -> y[i]).thenComparingLong(i -> x[i]));
    long[] sx = new long[n];
    long[] sy = new long[n];
    float[] sf = new float[features.length];
    for (int k = 0; k < n; k++) {
      int i = order[k];
      sx[k] = x[i];
      sy[k] = y[i];
      System.arraycopy(features, i * dim, sf, k * dim, dim);
      if (k > 0 && sx[k] == sx[k - 1] && sy[k] == sy[k - 1]) {
        throw new IOException(source + ": two instances of " + slideId + " at x=" + sx[k] + " y="
            + sy[k] + ": keep one feature vector per position");
      }
    }
    return new ImportedBag(slideId, source, sx, sy, level, sf, dim);
  }

  /**
   * Grid column and row of every instance: the dense rank of its x (y) among the slide's distinct
   * x (y) values. Imported coordinates come without a tile size, so on a regular grid this is the
   * position counted from the first occupied column and row.
   */
  static int[] denseRank(long[] v) {
    long[] distinct = Arrays.stream(v).distinct().sorted().toArray();
    int[] rank = new int[v.length];
    for (int i = 0; i < v.length; i++) {
      rank[i] = Arrays.binarySearch(distinct, v[i]);
    }
    return rank;
  }
}
