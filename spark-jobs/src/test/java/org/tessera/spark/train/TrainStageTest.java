package org.tessera.spark.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.SparkException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tessera.core.optim.OptimizerConfig;
import org.tessera.core.train.TrainLoop;
import org.tessera.spark.SparkTestSupport;

/** The train stage end to end: it learns, writes its outputs, resumes exactly, and refuses bad input. */
class TrainStageTest {
  private static SparkSession spark;
  private static Path cohort;
  private static Path feat;
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

  @BeforeAll
  static void setUp(@TempDir Path dir) throws Exception {
    spark = SparkTestSupport.localSession("train-stage");
    cohort = dir;
    feat = ToyFeatures.write(spark, dir, 20, 8, true, 5);
  }

  @AfterAll
  static void tearDown() {
    spark.stop();
  }

  private static TrainSettings settings(Path out, int epochs, int checkpointEvery) {
    HeadOptions head = new HeadOptions("gated-abmil", 32, 16, -1, "", null, -1, -1, 0, -1, 0,
        "");
    return new TrainSettings(feat.toString(), cohort.resolve("labels.csv").toString(),
        out.toString(), List.of(), 2, 9, 0, 0.2, 4, "", head,
        OptimizerConfig.defaults("adam").withLearningRate(2e-3),
        new TrainLoop.Settings(epochs, epochs, checkpointEvery), false);
  }

  @Test
  void learnsAndWritesEveryOutput(@TempDir Path dir) throws Exception {
    Path run = dir.resolve("run");
    TrainStage.Summary s = TrainStage.run(spark, settings(run, 20, 0), QUIET);
    TrainStage.SplitResult r = s.splits().get(0);
    assertEquals("given", r.split());
    assertEquals(12, r.trainSlides());
    assertEquals(4, r.valSlides());
    assertEquals(4, r.testSlides());
    assertTrue(r.val().get("auc") >= 0.99, "val AUC " + r.val());
    assertTrue(r.test().get("auc") >= 0.99, "test AUC " + r.test());

    List<String> history = Files.readAllLines(run.resolve(TrainStage.HISTORY));
    assertEquals(r.epochs(), history.size());
    assertTrue(history.get(0).contains("\"train_loss\""));
    double first = TrainStage.JSON.readTree(history.get(0)).path("train_loss").asDouble();
    double last = TrainStage.JSON.readTree(history.get(history.size() - 1)).path("train_loss")
        .asDouble();
    assertTrue(last < 0.75 * first, "training loss went from " + first + " to " + last);

    Dataset<Row> predictions = spark.read().parquet(run.resolve(TrainStage.PREDICTIONS)
        .toString());
    assertEquals(20, predictions.count());
    assertEquals(List.of("slide_id", "split", "label", "label_index", "predicted",
        "prob_normal", "prob_tumor"), List.of(predictions.columns()));
    Dataset<Row> attention = spark.read().parquet(run.resolve(TrainStage.ATTENTION).toString());
    long instances = spark.read().parquet(feat.resolve("features").toString()).count();
    assertEquals(instances, attention.count());
    assertEquals(List.of("slide_id", "x", "y", "attention"), List.of(attention.columns()));
    assertTrue(Files.exists(run.resolve(TrainStage.CONFIG)));
    assertTrue(Files.exists(run.resolve("model/params.bin")));
    assertTrue(Files.exists(run.resolve(TrainStage.SUMMARY)));

    // A second run with the same settings finds the work done.
    TrainStage.Summary again = TrainStage.run(spark, settings(run, 20, 0), QUIET);
    assertEquals(r, again.splits().get(0));
  }

  @Test
  void aStoppedRunResumesToTheSameWeights(@TempDir Path dir) throws Exception {
    Path whole = dir.resolve("whole");
    TrainStage.run(spark, settings(whole, 4, 1), QUIET);

    Path stopped = dir.resolve("stopped");
    // Cancel the run's Spark jobs once a few checkpoints exist: the run dies mid-epoch, as it
    // would when a driver is killed, leaving whatever it had committed.
    // A cancel that lands between two jobs changes nothing, so keep cancelling until the run
    // has failed.
    java.util.concurrent.atomic.AtomicBoolean failed = new java.util.concurrent.atomic.AtomicBoolean();
    Thread killer = new Thread(() -> {
      try {
        while (checkpoints(stopped) < 2 || stepOf(stopped) < 5) {
          Thread.sleep(10);
        }
        while (!failed.get()) {
          spark.sparkContext().cancelAllJobs();
          Thread.sleep(2);
        }
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    killer.setDaemon(true);
    killer.start();
    Exception e = assertThrows(Exception.class, () -> {
      try {
        TrainStage.run(spark, settings(stopped, 4, 1), QUIET);
      } finally {
        failed.set(true);
      }
    });
    killer.join();
    assertTrue(e instanceof SparkException || e.getCause() != null, e.toString());
    assertFalse(Files.exists(stopped.resolve(TrainStage.RESULT)));

    TrainStage.run(spark, settings(stopped, 4, 1), QUIET);
    byte[] a = Files.readAllBytes(whole.resolve("model/params.bin"));
    byte[] b = Files.readAllBytes(stopped.resolve("model/params.bin"));
    assertEquals(a.length, b.length);
    float[] fa = floats(a);
    float[] fb = floats(b);
    assertTrue(DistributedTrainingTest.maxAbsDiff(fa, fb) <= 1e-6,
        "resumed weights differ by " + DistributedTrainingTest.maxAbsDiff(fa, fb));
    List<String> ha = Files.readAllLines(whole.resolve(TrainStage.HISTORY));
    List<String> hb = Files.readAllLines(stopped.resolve(TrainStage.HISTORY));
    assertEquals(ha.size(), hb.size(), "history lines lost or doubled");
  }

  @Test
  void badInputGetsOneLine(@TempDir Path dir) throws Exception {
    Path labels = dir.resolve("labels.csv");
    Files.writeString(labels, Files.readString(cohort.resolve("labels.csv"))
        + "ghost-01,tumor,p99,train\n");
    TrainSettings s = settings(dir.resolve("run"), 2, 0);
    TrainSettings ghost = new TrainSettings(s.features(), labels.toString(), s.out(), s.classes(),
        2, 9, 0, 0.2, 4, "", s.head(), s.optimizer(), s.loop(), false);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TrainStage.run(spark, ghost, QUIET));
    assertTrue(e.getMessage().contains("1 slide(s) without features")
        && e.getMessage().contains("ghost-01"), e.getMessage());

    TrainSettings wrongEncoder = new TrainSettings(s.features(), s.labels(), s.out(),
        s.classes(), 2, 9, 0, 0.2, 4, "resnet50-trunc", s.head(), s.optimizer(), s.loop(), false);
    e = assertThrows(IllegalArgumentException.class,
        () -> TrainStage.run(spark, wrongEncoder, QUIET));
    assertTrue(e.getMessage().contains("not 'resnet50-trunc'"), e.getMessage());

    Path oneClass = dir.resolve("one-class.csv");
    Files.writeString(oneClass, "slide_id,label\ntoy-00,normal\ntoy-02,normal\ntoy-04,normal\n");
    TrainSettings single = new TrainSettings(s.features(), oneClass.toString(), s.out(),
        s.classes(), 2, 9, 0, 0.2, 4, "", s.head(), s.optimizer(), s.loop(), false);
    e = assertThrows(IllegalArgumentException.class, () -> TrainStage.run(spark, single, QUIET));
    assertTrue(e.getMessage().contains("only class normal"), e.getMessage());
    assertFalse(e.getMessage().contains("\n"));

    IllegalArgumentException nan = assertThrows(IllegalArgumentException.class,
        () -> BagStore.toBag("s1", new java.util.ArrayList<>(List.of(
            new BagStore.Instance(0, 0, new float[] {1f, Float.NaN})))));
    assertTrue(nan.getMessage().contains("s1") && nan.getMessage().contains("NaN"));
    IllegalArgumentException mixed = assertThrows(IllegalArgumentException.class,
        () -> BagStore.toBag("s2", new java.util.ArrayList<>(List.of(
            new BagStore.Instance(0, 0, new float[] {1f, 2f}),
            new BagStore.Instance(256, 0, new float[] {1f})))));
    assertTrue(mixed.getMessage().contains("2 and 1 features"), mixed.getMessage());
  }

  @Test
  void everyEpochLineGivesItsTimeAndAnEta(@TempDir Path dir) throws Exception {
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    TrainStage.run(spark, settings(dir.resolve("run"), 3, 0), new PrintStream(bytes, true,
        java.nio.charset.StandardCharsets.UTF_8));
    List<String> epochs = bytes.toString(java.nio.charset.StandardCharsets.UTF_8).lines()
        .filter(l -> l.contains(": epoch ")).toList();
    assertEquals(3, epochs.size(), epochs.toString());
    for (String line : epochs) {
      assertTrue(line.matches(".* \\d+\\.\\d s/epoch  ETA \\d+:\\d\\d:\\d\\d.*"), line);
    }
    assertTrue(epochs.get(0).contains("at most"), "epochs left: " + epochs.get(0));
    assertTrue(epochs.get(2).contains("ETA 0:00:00"), "the last epoch: " + epochs.get(2));
  }

  @Test
  void theHoldOutOfASmallCohortSaysWhatItNeedsAfterTheFeaturesAreFound(@TempDir Path dir)
      throws Exception {
    TrainSettings s = settings(dir.resolve("run"), 2, 0);
    // No split column and --folds 0: a hold-out; one tumour patient cannot be in train and test.
    Path small = dir.resolve("small.csv");
    Files.writeString(small, "slide_id,label,patient_id\ntoy-00,normal,p0\ntoy-02,normal,p2\n"
        + "toy-04,normal,p4\ntoy-01,tumor,p1\n");
    TrainSettings holdOut = new TrainSettings(s.features(), small.toString(), s.out(),
        s.classes(), 2, 9, 0, 0.2, 4, "", s.head(), s.optimizer(), s.loop(), false);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TrainStage.run(spark, holdOut, QUIET));
    assertTrue(e.getMessage().contains("hold-out") && e.getMessage().contains("class tumor has 1")
        && e.getMessage().contains("split column"), e.getMessage());
    assertFalse(e.getMessage().contains("folds need") || e.getMessage().contains("at most"),
        e.getMessage());

    // The same table with a slide that has no features: that is what to fix first.
    Path ghost = dir.resolve("ghost.csv");
    Files.writeString(ghost, Files.readString(small) + "ghost-01,normal,p9\n");
    TrainSettings missing = new TrainSettings(s.features(), ghost.toString(), s.out(),
        s.classes(), 2, 9, 0, 0.2, 4, "", s.head(), s.optimizer(), s.loop(), false);
    e = assertThrows(IllegalArgumentException.class, () -> TrainStage.run(spark, missing, QUIET));
    assertTrue(e.getMessage().contains("without features") && e.getMessage().contains("ghost-01"),
        e.getMessage());
    assertFalse(Files.exists(dir.resolve("run")), "nothing written for a refused run");
  }

  private static long checkpoints(Path run) throws Exception {
    Path dir = run.resolve("checkpoints");
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().endsWith(".ckpt")).count();
    }
  }

  private static long stepOf(Path run) throws Exception {
    try (Stream<Path> s = Files.list(run.resolve("checkpoints"))) {
      return s.map(p -> p.getFileName().toString())
          .filter(n -> n.matches("step-\\d+\\.ckpt"))
          .mapToLong(n -> Long.parseLong(n.substring(5, 14))).max().orElse(0);
    }
  }

  private static float[] floats(byte[] bytes) {
    java.nio.FloatBuffer fb = java.nio.ByteBuffer.wrap(bytes)
        .order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    float[] f = new float[fb.remaining()];
    fb.get(f);
    return f;
  }
}
