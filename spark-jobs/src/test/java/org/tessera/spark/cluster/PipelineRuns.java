package org.tessera.spark.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.tessera.spark.cli.TesseraCliTest.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
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
import org.tessera.spark.cli.TesseraCliTest.Result;
import org.tessera.spark.train.TrainStage;

/**
 * The tile, embed and train command lines the cluster integration tests submit, and the checks
 * that a cluster's outputs are the ones local mode gives. Locations are strings (a local folder
 * or an {@code hdfs://} URI) and outputs are read through Spark, so one check serves every file
 * system a cluster writes to.
 */
final class PipelineRuns {
  static final List<String> STAGES = List.of("tile", "embed", "train");
  private static final double TOLERANCE = 1e-5;

  private PipelineRuns() {}

  /** The three command lines, writing under {@code out}; small so the classes stay quick. */
  static List<List<String>> commands(String slides, String labels, String out) {
    String tiles = out + "/tiles";
    String feat = out + "/feat";
    return List.of(
        List.of("tile", "--slides", slides, "--out", tiles, "--assume-mpp", "0.5",
            "--tile", "256"),
        List.of("embed", "--tiles", tiles, "--out", feat, "--encoder", "small-cnn",
            "--random-init", "--seed", "7", "--batch", "16", "--tiles-per-task", "8"),
        List.of("train", "--features", feat, "--labels", labels, "--model", "gated-abmil",
            "--out", out + "/run", "--workers", "2", "--epochs", "3", "--patience", "3",
            "--bags-per-step", "2", "--lr", "2e-3", "--hidden", "32", "--attention-dim", "16",
            "--seed", "3"));
  }

  /** Runs the commands in this JVM on local[2]: the reference a cluster must reproduce. */
  static void runLocally(String slides, String labels, String out) {
    for (List<String> args : commands(slides, labels, out)) {
      List<String> withMaster = new ArrayList<>(args);
      withMaster.addAll(List.of("--master", "local[2]"));
      Result r = cli(withMaster.toArray(String[]::new));
      assertEquals(0, r.code(), args.get(0) + " on local mode: " + r.err());
    }
  }

  static void assertSameTileIndex(SparkSession spark, String expectedOut, String actualOut) {
    List<String> expected = rows(spark, expectedOut + "/tiles/tiles");
    assertTrue(expected.size() > 6, "a few tiles per slide, got " + expected.size());
    assertEquals(expected, rows(spark, actualOut + "/tiles/tiles"));
  }

  static void assertSameFeatures(SparkSession spark, String expectedOut, String actualOut) {
    Map<String, float[]> expected = features(spark, expectedOut + "/feat/features");
    Map<String, float[]> actual = features(spark, actualOut + "/feat/features");
    assertEquals(expected.keySet(), actual.keySet());
    expected.forEach((tile, f) -> assertClose(f, actual.get(tile), "features of " + tile));
  }

  /** The best parameters and the predictions they make agree to within float rounding. */
  static void assertSameModel(SparkSession spark, String expectedOut, String actualOut)
      throws IOException {
    String params = "/run/" + TrainStage.MODEL_DIR + "/params.bin";
    assertClose(floats(spark, expectedOut + params), floats(spark, actualOut + params),
        "best parameters");

    List<Row> expected = predictions(spark, expectedOut);
    List<Row> actual = predictions(spark, actualOut);
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

  /** Each application's events in {@code dir}, by the word its name ends with ("tile", ...). */
  static Map<String, List<JsonNode>> eventLogs(Path dir) throws IOException {
    ObjectMapper json = new ObjectMapper();
    Map<String, List<JsonNode>> events = new TreeMap<>();
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
    return events;
  }

  /** Every stage registered two executors and ran tasks on both. */
  static void assertEveryStageRanOnTwoExecutors(Map<String, List<JsonNode>> events) {
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
  }

  private static List<String> rows(SparkSession spark, String parquet) {
    return spark.read().parquet(parquet).collectAsList().stream().map(Row::toString).sorted()
        .toList();
  }

  private static Map<String, float[]> features(SparkSession spark, String parquet) {
    Map<String, float[]> m = new TreeMap<>();
    for (Row r : spark.read().parquet(parquet).collectAsList()) {
      List<Float> f = r.getList(r.fieldIndex("features"));
      float[] a = new float[f.size()];
      for (int i = 0; i < a.length; i++) {
        a[i] = f.get(i);
      }
      m.put(r.getAs("slide_id") + "/" + r.getAs("col") + "/" + r.getAs("row"), a);
    }
    return m;
  }

  private static List<Row> predictions(SparkSession spark, String out) {
    return spark.read().parquet(out + "/run/" + TrainStage.PREDICTIONS).orderBy("slide_id")
        .collectAsList();
  }

  /** {@code params.bin}: little-endian float32, as TrainStage writes it. */
  private static float[] floats(SparkSession spark, String file) throws IOException {
    org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(file);
    byte[] bytes;
    try (InputStream in = p.getFileSystem(spark.sparkContext().hadoopConfiguration()).open(p)) {
      bytes = in.readAllBytes();
    }
    ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
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
