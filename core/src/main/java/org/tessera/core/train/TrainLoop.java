package org.tessera.core.train;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.tessera.core.eval.Metrics;
import org.tessera.core.nn.mil.Prediction;
import org.tessera.core.optim.GradientSum;
import org.tessera.core.optim.Optimizer;
import org.tessera.core.optim.OptimizerConfig;

/**
 * Synchronous mini-batch training of a MIL head, whatever computes the gradients: each step asks
 * the {@link GradientSource} for the summed gradient of the step's bags at the current parameters,
 * averages it and lets the optimizer update the parameters here, on the driver. Each epoch ends
 * with an evaluation pass over the training and validation slides, early stopping on validation
 * loss with patience, and keeps the best parameters.
 *
 * <p>The loop holds no state outside {@link TrainState}: the listener persists states, and a run
 * started from a persisted state takes exactly the steps an uninterrupted run would have taken.
 */
public final class TrainLoop {

  /**
   * @param maxEpochs            epochs at most
   * @param patience             epochs without a better validation loss before stopping
   * @param checkpointEverySteps also persist a state every this many steps within an epoch (0:
   *                             only at epoch ends)
   */
  public record Settings(int maxEpochs, int patience, int checkpointEverySteps) {
    public Settings {
      if (maxEpochs < 1) {
        throw new IllegalArgumentException("--epochs must be >= 1, got " + maxEpochs);
      }
      if (patience < 1) {
        throw new IllegalArgumentException("--patience must be >= 1, got " + patience);
      }
      if (checkpointEverySteps < 0) {
        throw new IllegalArgumentException("--checkpoint-every must be >= 0, got "
            + checkpointEverySteps);
      }
    }
  }

  /** One epoch's line of history. */
  public record EpochRecord(int epoch, long globalStep, double learningRate, double trainLoss,
      Map<String, Double> train, Map<String, Double> val, boolean best) {}

  /** Receives states to persist; a run resumed from any of them ends where this one does. */
  public interface Listener {
    /** A state within an epoch ({@code checkpointEverySteps}). */
    void checkpoint(TrainState state);

    /** The end of an epoch: its record, and the state after it. */
    void epochDone(EpochRecord record, TrainState state);
  }

  private TrainLoop() {}

  /**
   * Trains from {@code start} until the epochs run out or early stopping fires.
   *
   * @param trainLabels training slides and their class indices
   * @param valLabels   validation slides (may be empty: then every epoch counts as the best)
   */
  public static TrainState run(TrainState start, Settings settings, StepPlan plan,
      OptimizerConfig optimizerConfig, Map<String, Integer> trainLabels,
      Map<String, Integer> valLabels, GradientSource gradients, Predictor predictor,
      Listener listener) {
    if (trainLabels.isEmpty()) {
      throw new IllegalArgumentException("no training slides");
    }
    TrainState s = start;
    float[] params = s.params().clone();
    Optimizer optimizer = Optimizer.create(optimizerConfig, params.length);
    if (s.optimizerSteps() > 0) {
      optimizer.restore(s.optimizerState(), s.optimizerSteps());
    }
    List<String> evalSlides = new ArrayList<>(new TreeMap<>(trainLabels).keySet());
    evalSlides.addAll(new TreeMap<>(valLabels).keySet());
    while (!s.finished() && s.epoch() < settings.maxEpochs()) {
      int epoch = s.epoch();
      List<List<BagStep>> steps = plan.epoch(epoch, trainLabels);
      double lossSum = s.epochLossSum();
      long bags = s.epochBags();
      long globalStep = s.globalStep();
      double lr = Double.NaN;
      for (int i = s.step(); i < steps.size(); i++) {
        GradientSum g = gradients.gradient(params, steps.get(i));
        if (g.count() != steps.get(i).size()) {
          throw new IllegalStateException("step " + globalStep + ": gradients of " + g.count()
              + " bags came back for " + steps.get(i).size() + ": a worker lost bags");
        }
        if (!Double.isFinite(g.meanLoss())) {
          throw new IllegalStateException("training loss became " + g.meanLoss() + " at epoch "
              + epoch + ", step " + i + ": lower --lr or set --clip-norm");
        }
        lr = optimizer.step(params, g.meanGradient());
        lossSum += g.meanLoss() * g.count();
        bags += g.count();
        globalStep++;
        if (settings.checkpointEverySteps() > 0 && i + 1 < steps.size()
            && globalStep % settings.checkpointEverySteps() == 0) {
          listener.checkpoint(new TrainState(epoch, i + 1, globalStep, params.clone(),
              optimizer.state(), optimizer.steps(), s.bestParams(), s.bestValLoss(),
              s.bestEpoch(), s.badEpochs(), lossSum, bags, false));
        }
      }
      if (Double.isNaN(lr)) {
        lr = optimizerConfig.learningRateAt(Math.max(0, optimizer.steps() - 1));
      }
      Map<String, Prediction> predictions = predictor.predict(params, evalSlides);
      Map<String, Double> train = metrics(predictions, trainLabels);
      Map<String, Double> val = metrics(predictions, valLabels);
      double valLoss = valLabels.isEmpty() ? train.get("loss") : val.get("loss");
      boolean best = valLoss < s.bestValLoss() || s.bestEpoch() < 0;
      float[] bestParams = best ? params.clone() : s.bestParams();
      int badEpochs = best ? 0 : s.badEpochs() + 1;
      boolean stop = !valLabels.isEmpty() && badEpochs >= settings.patience();
      boolean finished = stop || epoch + 1 >= settings.maxEpochs();
      s = new TrainState(epoch + 1, 0, globalStep, params.clone(), optimizer.state(),
          optimizer.steps(), bestParams, best ? valLoss : s.bestValLoss(),
          best ? epoch : s.bestEpoch(), badEpochs, 0, 0, finished);
      listener.epochDone(new EpochRecord(epoch, globalStep, lr, lossSum / bags, train, val,
          best), s);
    }
    return s;
  }

  /** Metrics of the labelled slides' predictions ({@link Metrics#summary}). */
  public static Map<String, Double> metrics(Map<String, Prediction> predictions,
      Map<String, Integer> labels) {
    List<String> ids = new ArrayList<>(new TreeMap<>(labels).keySet());
    float[][] p = new float[ids.size()][];
    int[] y = new int[ids.size()];
    for (int i = 0; i < ids.size(); i++) {
      Prediction pr = predictions.get(ids.get(i));
      if (pr == null) {
        throw new IllegalStateException("no prediction came back for slide " + ids.get(i));
      }
      p[i] = pr.probabilities();
      y[i] = labels.get(ids.get(i));
    }
    return new HashMap<>(Metrics.summary(p, y));
  }
}
