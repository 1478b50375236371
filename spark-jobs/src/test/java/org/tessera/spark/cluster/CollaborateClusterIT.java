package org.tessera.spark.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.tessera.spark.cli.TesseraCliTest.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tessera.core.nn.patch.PatchNet;
import org.tessera.spark.SparkTestSupport;
import org.tessera.spark.cli.TesseraCli;
import org.tessera.spark.cli.TesseraCliTest.Result;
import org.tessera.spark.cluster.StandaloneCluster.DeployMode;
import org.tessera.spark.cluster.StandaloneCluster.Submission;
import org.tessera.wsi.synth.SynthCohort;

/**
 * The collaborative loop submitted to a standalone cluster of separate JVMs (a Master, two
 * one-core Workers): it runs to completion, its encoder M-step is a barrier stage whose two
 * tasks ran on the two executors and all-reduced over the network, and the encoder it trains
 * is the one the same command trains on local mode.
 */
class CollaborateClusterIT {
  static SparkSession spark;
  static Path tiles;
  static Path localRun;
  static Path clusterRun;
  static Submission submitted;
  static List<JsonNode> events = new ArrayList<>();

  @TempDir
  static Path tmp;

  @BeforeAll
  static void setUp() throws Exception {
    spark = SparkTestSupport.localSession("CollaborateClusterIT");
    Path cohort = SparkTestSupport.cohort();
    tiles = tmp.resolve("tiles");
    Result tiled = cli("tile", "--slides", cohort.resolve(SynthCohort.SLIDES_DIR).toString(),
        "--out", tiles.toString(), "--assume-mpp", "0.5", "--tile", "256", "--master",
        "local[2]");
    assertEquals(0, tiled.code(), tiled.err());
    localRun = tmp.resolve("local");
    List<String> local = new ArrayList<>(collaborate(cohort, localRun));
    local.addAll(List.of("--master", "local[2]"));
    Result r = cli(local.toArray(String[]::new));
    assertEquals(0, r.code(), r.err());
    clusterRun = tmp.resolve("cluster");
    try (StandaloneCluster c = StandaloneCluster.start(Path.of("target"), 2)) {
      submitted = c.submit(TesseraCli.class.getName(), collaborate(cohort, clusterRun),
          Map.of("spark.app.name", "tessera collaborate"), DeployMode.CLIENT);
      ObjectMapper json = new ObjectMapper();
      try (Stream<Path> files = Files.list(c.eventLogDir())) {
        for (Path f : files.toList()) {
          for (String line : Files.readAllLines(f)) {
            events.add(json.readTree(line));
          }
        }
      }
    }
  }

  @AfterAll
  static void tearDown() {
    if (spark != null) {
      spark.stop();
    }
  }

  private static List<String> collaborate(Path cohort, Path out) {
    return List.of("collaborate", "--tiles", tiles.toString(), "--labels",
        cohort.resolve(SynthCohort.LABELS_CSV).toString(), "--rounds", "1", "--workers", "2",
        "--out", out.toString(), "--random-init", "--seed", "5", "--input-size", "32",
        "--epochs", "3", "--patience", "3", "--pseudo-fraction", "0.3", "--patch-epochs", "2",
        "--patch-batch", "4", "--shards", "2");
  }

  @Test
  void theLoopRunsToCompletionOnTheCluster() throws Exception {
    assertEquals(0, submitted.exitCode(), "collaborate on the cluster failed; log in "
        + submitted.log());
    JsonNode rounds = new ObjectMapper().readTree(clusterRun.resolve("rounds.json").toFile());
    assertEquals(2, rounds.size(), rounds.toString());
    assertTrue(Files.exists(clusterRun.resolve("report/index.html")));
  }

  @Test
  void theEncoderStepRanAsOneBarrierTaskPerExecutor() {
    assertEquals(0, submitted.exitCode(), "log in " + submitted.log());
    Set<Integer> stages = new HashSet<>();
    for (JsonNode e : events) {
      if (e.path("Event").asText().equals("SparkListenerJobStart")
          && e.path("Properties").path("spark.jobGroup.id").asText().equals("tessera-m-step")) {
        e.path("Stage IDs").forEach(id -> stages.add(id.asInt()));
      }
    }
    assertTrue(!stages.isEmpty(), "no m-step job in the event log");
    Set<String> executors = new HashSet<>();
    int tasks = 0;
    for (JsonNode e : events) {
      if (e.path("Event").asText().equals("SparkListenerTaskEnd")
          && stages.contains(e.path("Stage ID").asInt())) {
        executors.add(e.path("Task Info").path("Executor ID").asText());
        tasks++;
        assertEquals("Success", e.path("Task End Reason").path("Reason").asText());
      }
    }
    assertEquals(2, tasks, "one task per worker");
    assertEquals(2, executors.size(), "on two executors: " + executors);
  }

  @Test
  void theClusterTrainsTheEncoderLocalModeTrains() throws Exception {
    assertEquals(0, submitted.exitCode(), "log in " + submitted.log());
    Path file = Path.of("round-1", "encoder", "patch-net.safetensors");
    Map<String, float[]> expected = PatchNet.readStateDict(localRun.resolve(file));
    Map<String, float[]> actual = PatchNet.readStateDict(clusterRun.resolve(file));
    assertEquals(expected.keySet(), actual.keySet());
    for (String k : expected.keySet()) {
      float[] a = expected.get(k);
      float[] b = actual.get(k);
      for (int i = 0; i < a.length; i++) {
        assertTrue(Math.abs(a[i] - b[i]) <= 1e-5, k + "[" + i + "]: " + a[i] + " vs " + b[i]);
      }
    }
  }
}
