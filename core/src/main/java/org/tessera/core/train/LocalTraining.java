package org.tessera.core.train;

import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.tessera.core.data.Bag;
import org.tessera.core.nn.mil.MilModel;
import org.tessera.core.nn.mil.Prediction;
import org.tessera.core.optim.GradientSum;

/**
 * Gradients and predictions from bags held in this JVM, with one model: the single-machine
 * reference that the distributed path must equal, and what a notebook uses on a small cohort.
 */
public final class LocalTraining implements GradientSource, Predictor {

  private final MilModel model;
  private final Map<String, Bag> bags = new HashMap<>();

  /** {@code model} is used, not owned: the caller closes it. */
  public LocalTraining(MilModel model, Collection<Bag> bags) {
    this.model = model;
    for (Bag b : bags) {
      this.bags.put(b.slideId(), b);
    }
  }

  @Override
  public GradientSum gradient(float[] params, List<BagStep> batch) {
    model.setParams(params);
    GradientSum sum = new GradientSum(model.numParams());
    for (BagStep step : batch) {
      double loss = model.accumulateGradient(bag(step.slideId()), step.label(),
          step.dropoutSeed(), sum.gradientSum());
      sum.addLoss(loss);
    }
    return sum;
  }

  @Override
  public Map<String, Prediction> predict(float[] params, Collection<String> slides) {
    model.setParams(params);
    Map<String, Prediction> out = new HashMap<>();
    for (String id : slides) {
      out.put(id, model.predict(bag(id)));
    }
    return out;
  }

  private Bag bag(String id) {
    Bag b = bags.get(id);
    if (b == null) {
      throw new IllegalArgumentException("no features for slide " + id);
    }
    return b;
  }
}
