package org.tessera.spark.train;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.tessera.core.data.Bag;
import org.tessera.core.nn.mil.MilModel;
import org.tessera.core.nn.mil.Prediction;
import org.tessera.core.optim.GradientSum;
import org.tessera.core.train.BagStep;
import org.tessera.core.train.GradientSource;
import org.tessera.core.train.Predictor;
import scala.Tuple2;

/**
 * Gradients and predictions computed where the bags are cached. A step broadcasts the parameters,
 * every partition sums the gradients of the step's bags it holds (the others cost a look-up), the
 * partial sums meet in a {@code treeReduce}, and the broadcast is destroyed. Sums are in double
 * ({@link GradientSum}), so the result equals the single-JVM sum to double rounding however the
 * bags are spread.
 */
final class SparkTraining implements GradientSource, Predictor {

  private final JavaSparkContext sc;
  private final JavaRDD<Bag> bags;
  private final String configJson;
  private final int numParams;
  private final String label;

  /**
   * @param label names the run in the Spark UI's job descriptions
   */
  SparkTraining(JavaSparkContext sc, JavaRDD<Bag> bags, String configJson, int numParams,
      String label) {
    this.sc = sc;
    this.bags = bags;
    this.configJson = configJson;
    this.numParams = numParams;
    this.label = label;
  }

  @Override
  public GradientSum gradient(float[] params, List<BagStep> batch) {
    Broadcast<float[]> weights = sc.broadcast(params);
    Map<String, BagStep> steps = new HashMap<>();
    for (BagStep s : batch) {
      steps.put(s.slideId(), s);
    }
    String json = configJson;
    int n = numParams;
    try {
      sc.setJobDescription(label + ": gradient step over " + batch.size() + " bags");
      return bags.mapPartitions(it -> {
        GradientSum sum = new GradientSum(n);
        MilModel model = null;
        while (it.hasNext()) {
          Bag bag = it.next();
          BagStep step = steps.get(bag.slideId());
          if (step == null) {
            continue;
          }
          if (model == null) {
            model = ExecutorModels.model(json, weights.value());
          }
          sum.addLoss(model.accumulateGradient(bag, step.label(), step.dropoutSeed(),
              sum.gradientSum()));
        }
        return List.of(sum).iterator();
        // treeReduce, not treeAggregate: an aggregate's zero value (a gradient-sized array)
        // would travel inside every task.
      }).treeReduce(GradientSum::merge);
    } finally {
      weights.destroy();
    }
  }

  @Override
  public Map<String, Prediction> predict(float[] params, Collection<String> slides) {
    return predict(params, slides, false);
  }

  /** Predictions of {@code slides}; with {@code attention}, the per-instance maps as well. */
  Map<String, Prediction> predict(float[] params, Collection<String> slides, boolean attention) {
    Broadcast<float[]> weights = sc.broadcast(params);
    Set<String> wanted = new HashSet<>(slides);
    String json = configJson;
    try {
      sc.setJobDescription(label + ": predict " + wanted.size() + " slides");
      List<Tuple2<String, Prediction>> out = bags.mapPartitions(it -> {
        List<Tuple2<String, Prediction>> list = new ArrayList<>();
        MilModel model = null;
        while (it.hasNext()) {
          Bag bag = it.next();
          if (!wanted.contains(bag.slideId())) {
            continue;
          }
          if (model == null) {
            model = ExecutorModels.model(json, weights.value());
          }
          Prediction p = model.predict(bag);
          list.add(new Tuple2<>(bag.slideId(), attention ? p
              : new Prediction(p.probabilities(), List.of(), new float[0][])));
        }
        return list.iterator();
      }).collect();
      Map<String, Prediction> map = new HashMap<>();
      for (Tuple2<String, Prediction> t : out) {
        map.put(t._1(), t._2());
      }
      return map;
    } finally {
      weights.destroy();
    }
  }
}
