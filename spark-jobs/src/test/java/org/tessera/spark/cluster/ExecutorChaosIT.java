package org.tessera.spark.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tessera.spark.SparkTestSupport;
import org.tessera.spark.cli.TesseraCli;
import org.tessera.spark.cli.TesseraCliTest;
import org.tessera.spark.cluster.StandaloneCluster.DeployMode;
import org.tessera.spark.cluster.StandaloneCluster.Submission;
import org.tessera.wsi.synth.SynthCohort;

/**
 * One executor JVM of a standalone cluster killed (SIGKILL) while {@code tile --store-pixels}
 * stores its pixel ranges and while {@code embed} writes its feature ranges: Spark runs the lost
 * tasks again on the other executor, and the outputs equal a clean local run's tile for tile
 * and feature for feature, none lost and none twice; then the same with speculative copies of
 * slow tasks ({@code spark.speculation=true}) racing the originals.
 */
class ExecutorChaosIT {
  static SparkSession spark;
  static String slides;
  static Path reference;
  static long t0;

  @TempDir
  static Path tmp;

  @BeforeAll
  static void setUp() throws IOException {
    t0 = System.nanoTime();
    spark = SparkTestSupport.localSession("ExecutorChaosIT");
    slides = SparkTestSupport.cohort().resolve(SynthCohort.SLIDES_DIR).toString();
    reference = tmp.resolve("reference");
    for (List<String> args : commands(reference.toString())) {
      List<String> local = new ArrayList<>(args);
      local.addAll(List.of("--master", "local[2]"));
      TesseraCliTest.Result r = TesseraCliTest.cli(local.toArray(String[]::new));
      assertEquals(0, r.code(), args.get(0) + " on local mode: " + r.err());
    }
    log("reference done");
  }

  @AfterAll
  static void tearDown() {
    if (spark != null) {
      spark.stop();
    }
    log("whole class");
  }

  private static void log(String what) {
    System.out.printf("ExecutorChaosIT: %s at %.1f s%n", what, (System.nanoTime() - t0) / 1e9);
  }

  /** tile storing pixels and embed, both in small ranges so each has many tasks to lose. */
  private static List<List<String>> commands(String out) {
    return List.of(
        List.of("tile", "--slides", slides, "--out", out + "/tiles", "--assume-mpp", "0.5",
            "--tile", "128", "--store-pixels", "--pixel-format", "png", "--tiles-per-task", "6"),
        List.of("embed", "--tiles", out + "/tiles", "--out", out + "/feat", "--encoder",
            "small-cnn", "--random-init", "--seed", "7", "--batch", "8", "--tiles-per-task",
            "6"));
  }

  @Test
  void aKilledExecutorLosesAndRepeatsNothing() throws Exception {
    try (StandaloneCluster c = StandaloneCluster.start(Path.of("target"), 2, true)) {
      log("cluster up, logs in " + c.dir());
      Map<String, String> speculation = Map.of(
          "spark.speculation", "true",
          "spark.speculation.interval", "50ms",
          "spark.speculation.multiplier", "1.0",
          "spark.speculation.quantile", "0.2",
          "spark.speculation.minTaskRuntime", "1ms");
      for (Map<String, String> conf : List.of(Map.<String, String>of(), speculation)) {
        String what = conf.isEmpty() ? "plain" : "speculation";
        Path out = tmp.resolve(what);
        for (List<String> args : commands(out.toString())) {
          Path work = out.resolve(args.get(0).equals("tile") ? "tiles" : "feat").resolve("_work");
          runKillingAnExecutor(c, args, conf, work, what);
        }
        List<String> expected = tileRows(reference);
        assertTrue(expected.size() > 100, "tiles of the clean run: " + expected.size());
        assertEquals(expected, tileRows(out), what + ": tile index");
        PipelineRuns.assertSameFeatures(spark, reference.toString(), out.toString());
        long tiles = spark.read().parquet(out + "/tiles/tiles").count();
        assertEquals(tiles, spark.read().parquet(out + "/tiles/tiles")
            .dropDuplicates("slide_id", "col", "row").count(), "no tile twice");
        assertEquals(tiles, spark.read().parquet(out + "/feat/features").count(),
            "one feature row per tile");
        log(what + ": outputs equal the clean run's");
        if (!conf.isEmpty()) {
          assertTrue(speculativeTasks(c.eventLogDir()) > 0,
              "speculative copies ran (event logs in " + c.eventLogDir() + ")");
        }
      }
    }
  }

  /**
   * Submits one command and, once its tasks have stored a few ranges, kills one executor JVM of
   * the cluster; the application must still end well.
   */
  private static void runKillingAnExecutor(StandaloneCluster c, List<String> args,
      Map<String, String> conf, Path work, String what) throws Exception {
    ExecutorService submitter = Executors.newSingleThreadExecutor();
    try {
      Future<Submission> run = submitter.submit(() -> c.submit(TesseraCli.class.getName(), args,
          conf, DeployMode.CLIENT));
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(4);
      while (storedRanges(work) < 3) {
        assertTrue(!run.isDone(), args.get(0) + " (" + what + ") ended before an executor could"
            + " be killed: " + (run.isDone() ? "log in " + run.get().log() : ""));
        assertTrue(System.nanoTime() < deadline, args.get(0) + " stored no range in 4 min");
        Thread.sleep(10);
      }
      // This JVM's descendants only: the Workers it started, and the executors they started.
      Optional<ProcessHandle> executor = ProcessHandle.current().descendants()
          .filter(ExecutorChaosIT::isExecutor).findFirst();
      assertTrue(executor.isPresent(), "an executor JVM of this cluster is running");
      assertTrue(!run.isDone(), args.get(0) + " (" + what + ") ended before the kill");
      executor.get().destroyForcibly();
      log(args.get(0) + " (" + what + "): killed executor pid " + executor.get().pid()
          + " after " + storedRanges(work) + " stored ranges");
      Submission s = run.get(8, TimeUnit.MINUTES);
      assertEquals(0, s.exitCode(), args.get(0) + " (" + what + ") failed after the kill; log in "
          + s.log());
      log(args.get(0) + " (" + what + ") done");
    } finally {
      submitter.shutdownNow();
    }
  }

  /** Tasks that ran as speculative copies, over every application's event log. */
  private static long speculativeTasks(Path events) throws IOException {
    long n = 0;
    try (Stream<Path> files = Files.list(events)) {
      for (Path f : files.toList()) {
        n += Files.readAllLines(f).stream()
            .filter(l -> l.contains("\"Event\":\"SparkListenerTaskEnd\"")
                && l.contains("\"Speculative\":true"))
            .count();
      }
    }
    return n;
  }

  /** Every tile row as a sortable string, stored pixels by their hash. */
  private static List<String> tileRows(Path out) {
    List<String> rows = new ArrayList<>();
    for (org.apache.spark.sql.Row r : spark.read().parquet(out + "/tiles/tiles").collectAsList()) {
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < r.length(); i++) {
        Object v = r.get(i);
        sb.append(v instanceof byte[] b ? Integer.toHexString(java.util.Arrays.hashCode(b))
            : String.valueOf(v)).append(',');
      }
      rows.add(sb.toString());
    }
    rows.sort(null);
    return rows;
  }

  /** An executor JVM, told by its command line (a long one: read from /proc, not truncated). */
  private static boolean isExecutor(ProcessHandle p) {
    try {
      String cmd = new String(Files.readAllBytes(Path.of("/proc", "" + p.pid(), "cmdline")),
          java.nio.charset.StandardCharsets.UTF_8);
      return cmd.contains("org.apache.spark.executor.CoarseGrainedExecutorBackend");
    } catch (IOException e) {
      return p.info().commandLine().orElse("")
          .contains("org.apache.spark.executor.CoarseGrainedExecutorBackend");
    }
  }

  /** Range files written and not yet committed under a stage output's {@code _work}. */
  private static long storedRanges(Path work) {
    if (!Files.isDirectory(work)) {
      return 0;
    }
    try (Stream<Path> files = Files.walk(work)) {
      return files.filter(p -> {
        String name = p.getFileName().toString();
        return name.startsWith("part-") && name.endsWith(".parquet");
      }).count();
    } catch (IOException | java.io.UncheckedIOException e) {
      return 0; // files moved while walking: look again
    }
  }
}
