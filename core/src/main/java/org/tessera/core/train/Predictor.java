package org.tessera.core.train;

import java.util.Collection;
import java.util.Map;
import org.tessera.core.nn.mil.Prediction;

/** Predicts slides in evaluation mode (no dropout) at given parameters. */
public interface Predictor {

  /** Predictions for {@code slides}, keyed by slide id. */
  Map<String, Prediction> predict(float[] params, Collection<String> slides);
}
