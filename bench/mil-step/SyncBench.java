package org.tessera.spark.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;
import org.tessera.core.data.Bag;
import org.tessera.core.nn.mil.MilConfig;
import org.tessera.core.nn.mil.MilModel;
import org.tessera.core.train.BagStep;

/**
 * The synchronisation cost of one data-parallel step at K workers: K bags of N x DIM, one per
 * partition, on Spark local[K]; each step is the train stage's own {@code SparkTraining.gradient}
 * (broadcast, one task per partition, treeReduce of the gradient sums, broadcast destroyed).
 * Compute is the slowest task's executor run time (Spark's task metrics, which cover the
 * forward/backward passes and the summing); overhead is the step's wall time less that.
 * Prints one line: medians over the timed steps, in milliseconds.
 * Usage: SyncBench K N DIM WARMUP REPS
 */
public final class SyncBench {

  public static void main(String[] args) {
    int k = Integer.parseInt(args[0]);
    int n = Integer.parseInt(args[1]);
    int dim = Integer.parseInt(args[2]);
    int warmup = Integer.parseInt(args[3]);
    int reps = Integer.parseInt(args[4]);
    SparkSession spark = SparkSession.builder().master("local[" + k + "]")
        .appName("tessera sync bench").config("spark.ui.enabled", "false").getOrCreate();
    spark.sparkContext().setLogLevel("WARN");
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());

    // Task run times by job, from the listener bus.
    ConcurrentHashMap<Integer, Integer> stageToJob = new ConcurrentHashMap<>();
    ConcurrentHashMap<Integer, ConcurrentLinkedQueue<Long>> taskMillis =
        new ConcurrentHashMap<>();
    spark.sparkContext().addSparkListener(new SparkListener() {
      @Override
      public void onJobStart(SparkListenerJobStart e) {
        scala.collection.Iterator<Object> it = e.stageIds().iterator();
        while (it.hasNext()) {
          stageToJob.put((Integer) it.next(), e.jobId());
        }
      }

      @Override
      public void onTaskEnd(SparkListenerTaskEnd e) {
        Integer job = stageToJob.get(e.stageId());
        if (job != null && e.taskMetrics() != null) {
          taskMillis.computeIfAbsent(job, j -> new ConcurrentLinkedQueue<>())
              .add(e.taskMetrics().executorRunTime());
        }
      }
    });

    SplittableRandom r = new SplittableRandom(1);
    List<Bag> bags = new ArrayList<>();
    List<BagStep> batch = new ArrayList<>();
    for (int b = 0; b < k; b++) {
      float[] f = new float[n * dim];
      for (int i = 0; i < f.length; i++) {
        f[i] = (float) r.nextGaussian();
      }
      bags.add(new Bag("bag" + b, n, dim, f, new int[n], new int[n]));
      batch.add(new BagStep("bag" + b, b % 2, b));
    }
    JavaRDD<Bag> rdd = sc.parallelize(bags, k).cache();
    rdd.count();
    MilConfig cfg = MilConfig.defaults("gated-abmil", dim, 2);
    float[] params;
    try (MilModel m = MilModel.create(cfg, 1)) {
      params = m.params();
    }
    SparkTraining training = new SparkTraining(sc, rdd, ExecutorModels.toJson(cfg),
        params.length, "sync bench");
    for (int i = 0; i < warmup; i++) {
      training.gradient(params, batch);
    }
    spark.sparkContext().listenerBus().waitUntilEmpty();
    int firstTimedJob = nextJob(taskMillis);
    double[] wall = new double[reps];
    for (int i = 0; i < reps; i++) {
      long t0 = System.nanoTime();
      training.gradient(params, batch);
      wall[i] = (System.nanoTime() - t0) / 1e6;
    }
    spark.sparkContext().listenerBus().waitUntilEmpty();
    List<Double> compute = new ArrayList<>();
    taskMillis.forEach((job, times) -> {
      if (job >= firstTimedJob && times.size() == k) {
        compute.add((double) times.stream().mapToLong(Long::longValue).max().orElse(0));
      }
    });
    double[] c = compute.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    Arrays.sort(wall);
    double wallMedian = wall[reps / 2];
    double computeMedian = c.length == 0 ? Double.NaN : c[c.length / 2];
    System.err.println("sync: step wall ms " + Arrays.toString(wall));
    System.err.println("sync: slowest task ms " + Arrays.toString(c));
    System.out.printf("%.1f %.1f %d%n", wallMedian, computeMedian, params.length);
    spark.stop();
  }

  private static int nextJob(ConcurrentHashMap<Integer, ConcurrentLinkedQueue<Long>> m) {
    return m.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
  }
}
