package org.tessera.core.train;

import java.util.Map;

/**
 * Everything a training run needs to continue exactly where it stopped: the position (epoch and
 * step within it), the parameters, the optimizer's buffers and step count, the best parameters so
 * far with their validation loss, the early-stopping counter and the running loss of the current
 * epoch. Nothing random needs saving: every draw derives from the seed and the position.
 *
 * @param epoch          the epoch in progress (0-based); equals the epochs completed when
 *                       {@code step} is 0
 * @param step           steps of {@code epoch} already taken
 * @param globalStep     steps taken over the whole run
 * @param bestEpoch      epoch of {@code bestParams}, -1 before the first epoch ends
 * @param badEpochs      epochs since the validation loss last improved
 * @param epochLossSum   sum of the bag losses of {@code epoch} so far
 * @param epochBags      bags of {@code epoch} so far
 * @param finished       early stopping fired or the last epoch ended
 */
public record TrainState(int epoch, int step, long globalStep, float[] params,
    Map<String, float[]> optimizerState, long optimizerSteps, float[] bestParams,
    double bestValLoss, int bestEpoch, int badEpochs, double epochLossSum, long epochBags,
    boolean finished) {

  /** A run that has not started, from initial parameters. */
  public static TrainState initial(float[] params) {
    return new TrainState(0, 0, 0, params.clone(), Map.of(), 0, params.clone(),
        Double.POSITIVE_INFINITY, -1, 0, 0, 0, false);
  }
}
