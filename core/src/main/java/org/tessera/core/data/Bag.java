package org.tessera.core.data;

import java.io.Serializable;
import java.util.Objects;

/**
 * One slide's feature bag: {@code n} instances (tiles) of {@code dim} features, row-major, with
 * each instance's level-0 tile origin. Immutable by convention: the arrays are shared, not copied,
 * because bags of 100,000 x 1024 floats are too large to copy on every read; nothing writes to them
 * after construction.
 */
public record Bag(String slideId, int n, int dim, float[] features, int[] x, int[] y)
    implements Serializable {

  public Bag {
    Objects.requireNonNull(slideId, "slideId");
    Objects.requireNonNull(features, "features");
    Objects.requireNonNull(x, "x");
    Objects.requireNonNull(y, "y");
    if (n < 1 || dim < 1) {
      throw new IllegalArgumentException("bag " + slideId + ": needs at least one instance and one"
          + " feature, got n=" + n + " dim=" + dim);
    }
    if ((long) n * dim != features.length || x.length != n || y.length != n) {
      throw new IllegalArgumentException("bag " + slideId + ": " + features.length
          + " features and " + x.length + "/" + y.length + " coordinates do not make " + n + " x "
          + dim);
    }
  }

  /** Feature {@code j} of instance {@code i}. */
  public float feature(int i, int j) {
    return features[i * dim + j];
  }
}
