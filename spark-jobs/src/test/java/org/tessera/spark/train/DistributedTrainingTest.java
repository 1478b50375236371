package org.tessera.spark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.tessera.core.data.Bag;
import org.tessera.core.nn.mil.MilConfig;
import org.tessera.core.nn.mil.MilModel;
import org.tessera.core.optim.OptimizerConfig;
import org.tessera.core.train.LocalTraining;
import org.tessera.core.train.StepPlan;
import org.tessera.core.train.TrainLoop;
import org.tessera.core.train.TrainState;
import org.tessera.spark.SparkTestSupport;

/**
 * The distributed training path against the single-JVM loop: with K = 1, 2 and 4 workers, the
 * parameters after the same steps equal those of {@link LocalTraining} over the same bags, for
 * two models (with dropout on) and two optimizers.
 */
class DistributedTrainingTest {
  private static SparkSession spark;
  private static String featuresDir;
  private static Map<String, Long> counts;
  private static Map<String, Integer> labels;

  @BeforeAll
  static void setUp(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
    spark = SparkTestSupport.localSession("distributed-training");
    Path feat = ToyFeatures.write(spark, dir, 12, 8, false, 11);
    featuresDir = feat.resolve("features").toString();
    counts = new TreeMap<>();
    for (Row r : spark.read().parquet(feat.resolve("slides").toString())
        .select("slide_id", "tile_count").collectAsList()) {
      counts.put(r.getString(0), r.getLong(1));
    }
    labels = new TreeMap<>();
    for (String id : counts.keySet()) {
      labels.put(id, Integer.parseInt(id.substring(4)) % 2);
    }
  }

  @AfterAll
  static void tearDown() {
    spark.stop();
  }

  private static final TrainLoop.Listener QUIET = new TrainLoop.Listener() {
    @Override
    public void checkpoint(TrainState state) {}

    @Override
    public void epochDone(TrainLoop.EpochRecord record, TrainState state) {}
  };

  @ParameterizedTest
  @CsvSource({"gated-abmil, adam", "clam-sb, momentum", "max, adamw"})
  void kWorkersTrainTheSameModelAsOneJvm(String name, String optimizer) {
    MilConfig cfg = MilConfig.defaults(name, 8, 2).withHiddenDim(16).withAttentionDim(8);
    OptimizerConfig opt = OptimizerConfig.defaults(optimizer).withLearningRate(1e-3);
    StepPlan plan = new StepPlan(5, 4);
    TrainLoop.Settings settings = new TrainLoop.Settings(2, 5, 0);
    float[] initial;
    try (MilModel m = MilModel.create(cfg, 3)) {
      initial = m.params();
    }
    Map<String, Integer> val = Map.of();

    List<Bag> bags;
    try (BagStore one = BagStore.load(spark, featuresDir, counts, 1)) {
      bags = one.bags().collect();
    }
    float[] reference;
    try (MilModel m = MilModel.create(cfg, 3)) {
      LocalTraining local = new LocalTraining(m, bags);
      reference = TrainLoop.run(TrainState.initial(initial), settings, plan, opt, labels, val,
          local, local, QUIET).params();
    }
    assertTrue(maxAbsDiff(initial, reference) > 1e-3, "training did not move the parameters");

    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    for (int k : new int[] {1, 2, 4}) {
      try (BagStore store = BagStore.load(spark, featuresDir, counts, k)) {
        assertEquals(k, store.bags().getNumPartitions());
        SparkTraining training = new SparkTraining(sc, store.bags(),
            ExecutorModels.toJson(cfg), initial.length, "test");
        float[] distributed = TrainLoop.run(TrainState.initial(initial), settings, plan, opt,
            labels, val, training, training, QUIET).params();
        double diff = maxAbsDiff(reference, distributed);
        assertTrue(diff <= 1e-5, name + "/" + optimizer + " with " + k
            + " workers differs from one JVM by " + diff);
      }
    }
  }

  static double maxAbsDiff(float[] a, float[] b) {
    assertEquals(a.length, b.length);
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs((double) a[i] - b[i]));
    }
    return m;
  }
}
