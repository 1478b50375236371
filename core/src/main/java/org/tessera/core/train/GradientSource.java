package org.tessera.core.train;

import java.util.List;
import org.tessera.core.optim.GradientSum;

/**
 * Where a step's gradient comes from: one JVM looping over its bags, or Spark executors each
 * summing the bags they hold. Both must return the same sum for the same parameters and batch.
 */
public interface GradientSource {

  /** The summed gradient and loss of {@code batch} at {@code params} (training mode). */
  GradientSum gradient(float[] params, List<BagStep> batch);
}
