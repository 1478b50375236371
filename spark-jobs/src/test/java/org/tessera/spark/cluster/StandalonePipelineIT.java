package org.tessera.spark.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.tessera.spark.cli.TesseraCliTest.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tessera.spark.SparkTestSupport;
import org.tessera.spark.cli.TesseraCli;
import org.tessera.spark.cli.TesseraCliTest.Result;
import org.tessera.spark.cluster.StandaloneCluster.DeployMode;
import org.tessera.spark.cluster.StandaloneCluster.Submission;
import org.tessera.spark.train.TrainStage;
import org.tessera.wsi.synth.SynthCohort;

/**
 * tile, embed and train submitted with {@code SparkSubmit} to a standalone cluster of separate
 * JVMs (a Master, two one-core Workers) give what the same command lines give on local mode:
 * the same tile index, features and trained model; then {@code inspect} in cluster mode, with
 * the driver on a worker. Local mode shares one JVM with the driver, so it cannot catch what
 * only a cluster exposes: classes or state that do not serialise, executors without the native
 * libraries, paths that exist only on the driver.
 */
class StandalonePipelineIT {
  private static final double TOLERANCE = 1e-5;
  private static final List<String> STAGES = List.of("tile", "embed", "train");

  static SparkSession spark;
  static Path local;
  static Path cluster;
  static JsonNode masterState;
  static Submission inspectedInClusterMode;
  static final Map<String, List<JsonNode>> events = new TreeMap<>();
  static long t0;

  @TempDir
  static Path tmp;

  /**
   * The unit tests' six-slide cohort (smaller slides leave most without tissue), run once in
   * this JVM on local[2] and once on the cluster.
   */
  @BeforeAll
  static void setUp() throws Exception {
    t0 = System.nanoTime();
    spark = SparkTestSupport.localSession("StandalonePipelineIT");
    Path cohort = SparkTestSupport.cohort();

    local = tmp.resolve("local");
    for (List<String> args : pipeline(cohort, local)) {
      List<String> withMaster = new ArrayList<>(args);
      withMaster.addAll(List.of("--master", "local[2]"));
      Result r = cli(withMaster.toArray(String[]::new));
      assertEquals(0, r.code(), args.get(0) + " on local mode: " + r.err());
    }
    log("local mode done");

    cluster = tmp.resolve("cluster");
    try (StandaloneCluster c = StandaloneCluster.start(Path.of("target"), 2)) {
      log("cluster up at " + c.masterUrl() + ", logs in " + c.dir());
      for (List<String> args : pipeline(cohort, cluster)) {
        // spark-submit names every application after the main class unless told otherwise.
        Submission s = c.submit(TesseraCli.class.getName(), args,
            Map.of("spark.app.name", "tessera " + args.get(0)), DeployMode.CLIENT);
        assertEquals(0, s.exitCode(), args.get(0) + " on the cluster failed; log in " + s.log());
        log(args.get(0) + " on the cluster done");
      }
      inspectedInClusterMode = c.submit(TesseraCli.class.getName(),
          List.of("inspect", cluster.resolve("tiles").toString()),
          Map.of("spark.app.name", "tessera inspect"), DeployMode.CLUSTER);
      log("inspect in cluster mode done");
      masterState = c.masterState();
      readEventLogs(c.eventLogDir());
    }
  }

  @AfterAll
  static void tearDown() {
    if (spark != null) {
      spark.stop();
    }
    log("whole class");
  }

  private static void log(String what) {
    System.out.printf("StandalonePipelineIT: %s at %.1f s%n", what, (System.nanoTime() - t0) / 1e9);
  }

  /** The three command lines, writing under {@code out}; small so the class stays quick. */
  private static List<List<String>> pipeline(Path cohort, Path out) {
    String tiles = out.resolve("tiles").toString();
    String feat = out.resolve("feat").toString();
    return List.of(
        List.of("tile", "--slides", cohort.resolve(SynthCohort.SLIDES_DIR).toString(),
            "--out", tiles, "--assume-mpp", "0.5", "--tile", "256"),
        List.of("embed", "--tiles", tiles, "--out", feat, "--encoder", "small-cnn",
            "--random-init", "--seed", "7", "--batch", "16", "--tiles-per-task", "8"),
        List.of("train", "--features", feat,
            "--labels", cohort.resolve(SynthCohort.LABELS_CSV).toString(),
            "--model", "gated-abmil", "--out", out.resolve("run").toString(), "--workers", "2",
            "--epochs", "3", "--patience", "3", "--bags-per-step", "2", "--lr", "2e-3",
            "--hidden", "32", "--attention-dim", "16", "--seed", "3"));
  }

  /** Each application's events, by the stage its name ends with ("tessera tile", ...). */
  private static void readEventLogs(Path dir) throws IOException {
    ObjectMapper json = new ObjectMapper();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.toList()) {
        List<JsonNode> lines = new ArrayList<>();
        for (String line : Files.readAllLines(f)) {
          lines.add(json.readTree(line));
        }
        String name = lines.stream()
            .filter(e -> e.path("Event").asText().equals("SparkListenerApplicationStart"))
            .findFirst().orElseThrow().path("App Name").asText();
        events.put(name.substring(name.lastIndexOf(' ') + 1), lines);
      }
    }
  }

  @Test
  void everyStageRanOnBothExecutorsOfTheCluster() {
    assertTrue(events.keySet().containsAll(STAGES), "an event log per stage: " + events.keySet());
    for (String stage : STAGES) {
      Set<String> added = new HashSet<>();
      Set<String> ranTasks = new HashSet<>();
      for (JsonNode e : events.get(stage)) {
        switch (e.path("Event").asText()) {
          case "SparkListenerExecutorAdded" -> added.add(e.path("Executor ID").asText());
          case "SparkListenerTaskEnd" -> ranTasks.add(e.path("Task Info").path("Executor ID")
              .asText());
          default -> { }
        }
      }
      assertEquals(2, added.size(), stage + ": executors registered " + added);
      assertEquals(added, ranTasks, stage + ": executors that ran tasks");
    }
    Set<String> finished = new HashSet<>();
    for (JsonNode a : masterState.path("completedapps")) {
      if (a.path("state").asText().equals("FINISHED")) {
        finished.add(a.path("name").asText());
      }
    }
    assertTrue(finished.containsAll(STAGES.stream().map(s -> "tessera " + s).toList()),
        "applications the Master saw finish: " + finished);
  }

  /** The driver itself on a worker: its classpath and options come from the fixture alone. */
  @Test
  void clusterModeRunsTheDriverOnAWorker() {
    assertEquals(0, inspectedInClusterMode.exitCode(), "inspect in cluster mode failed; log in "
        + inspectedInClusterMode.log());
    assertEquals(1, masterState.path("completeddrivers").size(), "drivers: " + masterState);
  }

  @Test
  void tileIndexIsTheSame() {
    List<String> expected = rows(local.resolve("tiles").resolve("tiles"));
    assertTrue(expected.size() > 6, "a few tiles per slide, got " + expected.size());
    assertEquals(expected, rows(cluster.resolve("tiles").resolve("tiles")));
  }

  @Test
  void featuresAreTheSame() {
    Map<String, float[]> expected = features(local.resolve("feat").resolve("features"));
    Map<String, float[]> actual = features(cluster.resolve("feat").resolve("features"));
    assertEquals(expected.keySet(), actual.keySet());
    expected.forEach((tile, f) -> assertClose(f, actual.get(tile), "features of " + tile));
  }

  @Test
  void trainedModelAndPredictionsAreTheSame() throws IOException {
    Path params = Path.of(TrainStage.MODEL_DIR, "params.bin");
    assertClose(floats(local.resolve("run").resolve(params)),
        floats(cluster.resolve("run").resolve(params)), "best parameters");

    List<Row> expected = predictions(local);
    List<Row> actual = predictions(cluster);
    assertEquals(expected.size(), actual.size());
    for (int i = 0; i < expected.size(); i++) {
      Row e = expected.get(i);
      Row a = actual.get(i);
      for (int c = 0; c < e.length(); c++) {
        String what = e.getString(0) + " " + e.schema().fields()[c].name();
        if (e.get(c) instanceof Double d) {
          assertEquals(d, a.getDouble(c), TOLERANCE, what);
        } else {
          assertEquals(e.get(c), a.get(c), what);
        }
      }
    }
  }

  private static List<String> rows(Path parquet) {
    return spark.read().parquet(parquet.toString()).collectAsList().stream().map(Row::toString)
        .sorted().toList();
  }

  private static Map<String, float[]> features(Path parquet) {
    Map<String, float[]> m = new TreeMap<>();
    for (Row r : spark.read().parquet(parquet.toString()).collectAsList()) {
      List<Float> f = r.getList(r.fieldIndex("features"));
      float[] a = new float[f.size()];
      for (int i = 0; i < a.length; i++) {
        a[i] = f.get(i);
      }
      m.put(r.getAs("slide_id") + "/" + r.getAs("col") + "/" + r.getAs("row"), a);
    }
    return m;
  }

  private static List<Row> predictions(Path out) {
    return spark.read().parquet(out.resolve("run").resolve(TrainStage.PREDICTIONS).toString())
        .orderBy("slide_id").collectAsList();
  }

  /** {@code params.bin}: little-endian float32, as TrainStage writes it. */
  private static float[] floats(Path file) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    float[] a = new float[buf.remaining() / Float.BYTES];
    buf.asFloatBuffer().get(a);
    return a;
  }

  private static void assertClose(float[] expected, float[] actual, String what) {
    assertEquals(expected.length, actual.length, what + ": length");
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], actual[i], TOLERANCE, what + "[" + i + "]");
    }
  }
}
