package org.tessera.spark.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tessera.spark.SparkTestSupport;
import org.tessera.spark.cli.TesseraCli;
import org.tessera.spark.cluster.StandaloneCluster.DeployMode;
import org.tessera.spark.cluster.StandaloneCluster.Submission;
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
  static SparkSession spark;
  static Path local;
  static Path cluster;
  static JsonNode masterState;
  static Submission inspectedInClusterMode;
  static Map<String, List<JsonNode>> events;
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
    String slides = cohort.resolve(SynthCohort.SLIDES_DIR).toString();
    String labels = cohort.resolve(SynthCohort.LABELS_CSV).toString();

    local = tmp.resolve("local");
    PipelineRuns.runLocally(slides, labels, local.toString());
    log("local mode done");

    cluster = tmp.resolve("cluster");
    try (StandaloneCluster c = StandaloneCluster.start(Path.of("target"), 2)) {
      log("cluster up at " + c.masterUrl() + ", logs in " + c.dir());
      for (List<String> args : PipelineRuns.commands(slides, labels, cluster.toString())) {
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
      events = PipelineRuns.eventLogs(c.eventLogDir());
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

  @Test
  void everyStageRanOnBothExecutorsOfTheCluster() {
    PipelineRuns.assertEveryStageRanOnTwoExecutors(events);
    Set<String> finished = new HashSet<>();
    for (JsonNode a : masterState.path("completedapps")) {
      if (a.path("state").asText().equals("FINISHED")) {
        finished.add(a.path("name").asText());
      }
    }
    assertTrue(finished.containsAll(PipelineRuns.STAGES.stream().map(s -> "tessera " + s)
        .toList()), "applications the Master saw finish: " + finished);
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
    PipelineRuns.assertSameTileIndex(spark, local.toString(), cluster.toString());
  }

  @Test
  void featuresAreTheSame() {
    PipelineRuns.assertSameFeatures(spark, local.toString(), cluster.toString());
  }

  @Test
  void trainedModelAndPredictionsAreTheSame() throws IOException {
    PipelineRuns.assertSameModel(spark, local.toString(), cluster.toString());
  }
}
