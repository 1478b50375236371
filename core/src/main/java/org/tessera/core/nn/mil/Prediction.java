package org.tessera.core.nn.mil;

import java.io.Serializable;
import java.util.List;

/**
 * A head's output for one bag: class probabilities and one or more per-instance maps for heatmaps,
 * {@code attention[k][i]} being the score of instance {@code i} in the map named
 * {@code attentionNames.get(k)}. What a map holds depends on the model; see {@link MilModel}.
 */
public record Prediction(float[] probabilities, List<String> attentionNames, float[][] attention)
    implements Serializable {

  public Prediction {
    attentionNames = List.copyOf(attentionNames);
    if (attention.length != attentionNames.size()) {
      throw new IllegalArgumentException(attention.length + " attention maps for "
          + attentionNames.size() + " names " + attentionNames);
    }
  }

  /** The most probable class. */
  public int predictedClass() {
    int best = 0;
    for (int c = 1; c < probabilities.length; c++) {
      if (probabilities[c] > probabilities[best]) {
        best = c;
      }
    }
    return best;
  }
}
