package org.tessera.spark.tile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tessera.spark.SparkTestSupport;
import org.tessera.wsi.synth.SynthCohort;

/**
 * Kills a real tile run (a separate JVM, SIGKILL) part-way through and checks that running again
 * completes the output with exactly the tiles of an uninterrupted run: none lost, none twice.
 */
class TileCrashRecoveryTest {
  private static final int COPIES = 5;
  static SparkSession spark;
  static Path slides;
  static Path cohortSlides;

  @TempDir
  static Path tmp;

  @BeforeAll
  static void setUp() throws IOException {
    spark = SparkTestSupport.localSession("TileCrashRecoveryTest");
    TileStageTest.spark = spark;
    // Five hard-linked copies of the cohort: enough slides that the kill lands mid-run.
    slides = Files.createDirectories(tmp.resolve("slides"));
    List<Path> originals;
    cohortSlides = SparkTestSupport.cohort().resolve(SynthCohort.SLIDES_DIR);
    try (Stream<Path> s = Files.list(cohortSlides)) {
      originals = s.sorted().toList();
    }
    for (int copy = 0; copy < COPIES; copy++) {
      for (Path p : originals) {
        Files.createLink(slides.resolve("c" + copy + "_" + p.getFileName()), p);
      }
    }
  }

  @AfterAll
  static void tearDown() {
    spark.stop();
  }

  private static Process startChild(Path slides, Path out, String... extra) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(SparkTestSupport.jvmOptions());
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("org.tessera.spark.cli.TesseraCli");
    cmd.addAll(List.of("tile", "--slides", slides.toString(), "--out", out.toString(),
        "--assume-mpp", "0.5", "--tile", "128", "--master", "local[1]"));
    cmd.addAll(List.of(extra));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(tmp.resolve(out.getFileName() + ".log").toFile());
    pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
    return pb.start();
  }

  private static long count(Path dir, String glob) throws IOException {
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    try (var s = Files.newDirectoryStream(dir, glob)) {
      long n = 0;
      for (Path ignored : s) {
        n++;
      }
      return n;
    }
  }

  /** Stored ranges not yet committed: {@code part-*.parquet} anywhere under {@code _work}. */
  static long workParts(Path out) throws IOException {
    Path work = out.resolve("_work");
    if (!Files.isDirectory(work)) {
      return 0;
    }
    try (Stream<Path> files = Files.walk(work)) {
      return files.filter(p -> {
        String name = p.getFileName().toString();
        return name.startsWith("part-") && name.endsWith(".parquet");
      }).count();
    }
  }

  private static void killWhen(Process child, Path out, java.util.function.LongSupplier progress,
      long threshold) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (progress.getAsLong() < threshold) {
      assertTrue(child.isAlive(), "child tile run ended before it could be killed; log in "
          + tmp.resolve(out.getFileName() + ".log"));
      assertTrue(System.nanoTime() < deadline, "child made no progress in 120 s");
      Thread.sleep(5);
    }
    assertTrue(child.isAlive(), "child finished before the kill");
    child.destroyForcibly();
    child.waitFor(30, TimeUnit.SECONDS);
  }

  private static long unchecked(java.util.concurrent.Callable<Long> c) {
    try {
      return c.call();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** 128 px tiles at 0.5 um/px, the same as the child runs with. */
  private static TileSettings settings(boolean pngPixels, int tilesPerTask) {
    return new TileSettings(new org.tessera.wsi.tiling.TilingParams(0.5, 128, 128, 0.5, 16, 0.5,
        org.tessera.wsi.tissue.TissueParams.defaults()), pngPixels, "png", 90, tilesPerTask, false,
        System.getProperty("java.io.tmpdir") + "/slide-cache");
  }

  @Test
  void killedRunResumesToTheUninterruptedResult() throws Exception {
    TileSettings s = settings(false, 2000);
    Path reference = tmp.resolve("reference");
    TileStageTest.run(slides, reference, s);
    List<String> expected = TileStageTest.tileRows(reference);

    Path out = tmp.resolve("killed");
    Process child = startChild(slides, out);
    killWhen(child, out, () -> unchecked(() -> count(out.resolve("slides"), "*.parquet")), 3);
    long committed = count(out.resolve("slides"), "*.parquet");
    int total = 6 * COPIES;
    assertTrue(committed < total, "the kill left slides to do (" + committed + " committed)");

    TileStage.Summary resumed = TileStageTest.run(slides, out, s);
    assertEquals(total - committed, resumed.processed(), "only unfinished slides are redone");
    assertEquals(expected, TileStageTest.tileRows(out));
  }

  @Test
  void killedPixelRunResumesFromItsFinishedRanges() throws Exception {
    TileSettings s = settings(true, 5);
    Path reference = tmp.resolve("reference-pixels");
    TileStageTest.run(cohortSlides, reference, s);
    List<String> expected = TileStageTest.tileRows(reference);

    Path out = tmp.resolve("killed-pixels");
    Process child = startChild(cohortSlides, out, "--store-pixels", "--pixel-format", "png",
        "--tiles-per-task", "5");
    killWhen(child, out, () -> unchecked(() -> workParts(out)), 10);

    TileStageTest.run(cohortSlides, out, s);
    assertEquals(expected, TileStageTest.tileRows(out));
    assertEquals(0, workParts(out));
  }

  @Test
  void killedPixelRunResumedWithOtherRangesHoldsEveryTileOnce() throws Exception {
    Path reference = tmp.resolve("reference-ranges");
    TileStageTest.run(cohortSlides, reference, settings(true, 7));
    List<String> expected = TileStageTest.tileRows(reference);

    // Interrupted with ranges of 5 tiles, resumed with ranges of 7 (then of 3): no range stored
    // under other bounds may stand in for one of this run's.
    Path out = tmp.resolve("killed-ranges");
    Process child = startChild(cohortSlides, out, "--store-pixels", "--pixel-format", "png",
        "--tiles-per-task", "5");
    killWhen(child, out, () -> unchecked(() -> workParts(out)), 10);
    assertTrue(workParts(out) >= 10, "the kill left stored ranges");

    TileStage.Summary resumed = TileStageTest.run(cohortSlides, out, settings(true, 7));
    assertEquals(0, resumed.failed(), resumed.describe());
    List<String> actual = TileStageTest.tileRows(out);
    assertEquals(new java.util.HashSet<>(actual).size(), actual.size(), "no tile twice");
    assertEquals(expected, actual);
    assertEquals(0, workParts(out));
  }
}
