package org.tessera.core.train;

import java.io.Serializable;

/**
 * One bag's part in a training step: the slide, its class index and the seed its dropout masks
 * are drawn from. The seed depends only on the run's seed, the epoch and the slide, so whichever
 * worker computes the bag draws the same masks.
 */
public record BagStep(String slideId, int label, long dropoutSeed) implements Serializable {
  private static final long serialVersionUID = 1L;
}
