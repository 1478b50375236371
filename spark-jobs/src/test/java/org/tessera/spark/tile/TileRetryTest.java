package org.tessera.spark.tile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tessera.spark.SparkTestSupport;
import org.tessera.spark.cli.TesseraCliTest;
import org.tessera.wsi.synth.SynthCohort;

/**
 * What a slide's commit survives: a range that cannot be read (the slide fails alone), a second
 * attempt of the same task (it never un-commits the first), slides added beside committed ones
 * (ids stay with their files), and a folder without slides (a one-line error, not "0 slides").
 */
class TileRetryTest {
  static SparkSession spark;

  @TempDir
  Path tmp;

  @BeforeAll
  static void start() {
    spark = SparkTestSupport.localSession("TileRetryTest");
    spark.sparkContext().hadoopConfiguration().set("fs." + StoreFaultFileSystem.SCHEME + ".impl",
        StoreFaultFileSystem.class.getName());
    spark.sparkContext().hadoopConfiguration().setBoolean(
        "fs." + StoreFaultFileSystem.SCHEME + ".impl.disable.cache", true);
    TileStageTest.spark = spark;
    TileStageTest.cohortSlides = cohortSlides();
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static Path cohortSlides() {
    try {
      return SparkTestSupport.cohort().resolve(SynthCohort.SLIDES_DIR);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Path firstSlide(Path dir, String ext) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.toString().endsWith(ext)).sorted().findFirst().orElseThrow();
    }
  }

  private static List<Path> slides(Path dir, String ext) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.toString().endsWith(ext)).sorted().toList();
    }
  }

  @Test
  void aSlideWhosePixelsCannotBeReadWhenTheyAreStoredFailsAlone() throws IOException {
    TileSettings s = TileStageTest.settings(true, true, false);
    Path reference = tmp.resolve("reference");
    TileStageTest.run(TileStageTest.cohortSlides, reference, s);

    Path slides = tmp.resolve("fragile");
    TileStageTest.copySlides(slides);
    Path victim = firstSlide(slides, ".svs");
    String victimId = victim.getFileName().toString().replace(".svs", "");
    StoreFaultFileSystem.victimId = victimId;
    StoreFaultFileSystem.victimFile = victim;
    StoreFaultFileSystem.DAMAGED.set(false);
    Path out = tmp.resolve("out");
    TileStage.Summary summary;
    try {
      summary = TileStage.run(spark, slides.toString(), StoreFaultFileSystem.SCHEME + "://" + out,
          s, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    } finally {
      StoreFaultFileSystem.victimId = null;
    }
    assertTrue(StoreFaultFileSystem.DAMAGED.get(), "the slide was damaged after planning");

    assertEquals(5, summary.ok(), summary.describe());
    assertEquals(1, summary.failed(), summary.describe());
    String why = summary.failures().get(victimId);
    assertTrue(why != null && !why.contains("\n") && why.contains("tiles"), summary.describe());
    Map<String, Row> rows = TileStageTest.slideRows(out);
    assertEquals(6, rows.size());
    assertEquals("failed", rows.get(victimId).getAs("status"));
    assertEquals(why, rows.get(victimId).getAs("error"));
    List<String> expected = new ArrayList<>();
    for (String t : TileStageTest.tileRows(reference)) {
      if (!t.startsWith(victimId + ",")) {
        expected.add(t);
      }
    }
    assertEquals(expected, TileStageTest.tileRows(out), "the other slides are committed whole");
    assertFalse(Files.exists(out.resolve("_work").resolve(victimId)), "no work left behind");
  }

  @Test
  void aSecondAttemptOfPlanNeverUncommitsWhatTheFirstCommitted() throws Exception {
    TileSettings s = TileStageTest.settings(true, false, false);
    Path slides = tmp.resolve("one");
    Files.createDirectories(slides);
    Path slide = Files.copy(firstSlide(TileStageTest.cohortSlides, ".svs"),
        slides.resolve("one.svs"));
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    TileLayout layout = new TileLayout(tmp.resolve("out").toUri().toString());
    SlideInput in = new SlideInput("one", slide.toUri().toString(), Files.size(slide));

    SlideTasks.Planned first = SlideTasks.plan(in, s, conf, layout);
    assertTrue(first.row().ok(), first.row().error());
    List<String> committed = TileStageTest.tileRows(tmp.resolve("out"));
    assertEquals(first.row().tileCount(), committed.size());

    // A duplicate attempt (a retry of a task whose first attempt's result was lost, or a
    // speculative copy) that fails part-way, here because the file went bad under it.
    Files.write(slide, new byte[(int) Files.size(slide)]);
    SlideTasks.Planned second = SlideTasks.plan(in, s, conf, layout);

    assertTrue(second.row().ok(), "the second attempt reports the committed row: "
        + second.row().error());
    Row row = TileStageTest.slideRows(tmp.resolve("out")).get("one");
    assertEquals("ok", row.getAs("status"));
    assertEquals(committed, TileStageTest.tileRows(tmp.resolve("out")));
  }

  @Test
  void concurrentAttemptsOfPlanCommitOneWholeSlide() throws Exception {
    for (boolean pixels : new boolean[] {false, true}) {
      TileSettings s = TileStageTest.settings(true, pixels, false);
      Path slide = firstSlide(TileStageTest.cohortSlides, ".svs");
      Configuration conf = spark.sparkContext().hadoopConfiguration();
      Path out = tmp.resolve("concurrent-" + pixels);
      TileLayout layout = new TileLayout(out.toUri().toString());
      SlideInput in = new SlideInput("s", slide.toUri().toString(), Files.size(slide));
      ExecutorService pool = Executors.newFixedThreadPool(3);
      List<Future<SlideTasks.Planned>> attempts = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        attempts.add(pool.submit(() -> SlideTasks.plan(in, s, conf, layout)));
      }
      long tiles = -1;
      for (Future<SlideTasks.Planned> f : attempts) {
        SlideTasks.Planned p = f.get();
        assertTrue(p.row().ok(), p.row().error());
        assertTrue(tiles < 0 || tiles == p.row().tileCount());
        tiles = p.row().tileCount();
      }
      pool.shutdown();
      if (!pixels) {
        assertEquals(tiles, TileStageTest.tileRows(out).size());
        assertEquals(1, TileStageTest.slideRows(out).size());
      }
      try (Stream<Path> files = Files.walk(out)) {
        List<Path> left = files.filter(p -> p.toString().endsWith(".tmp")).toList();
        assertEquals(List.of(), left, "no attempt leaves a temporary file");
      }
    }
  }

  @Test
  void concurrentAttemptsOfARangeStoreItOnce() throws Exception {
    TileSettings s = TileStageTest.settings(true, true, false);
    Path slide = firstSlide(TileStageTest.cohortSlides, ".svs");
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    Path out = tmp.resolve("ranges");
    TileLayout layout = new TileLayout(out.toUri().toString());
    SlideInput in = new SlideInput("s", slide.toUri().toString(), Files.size(slide));
    SlideTasks.Planned planned = SlideTasks.plan(in, s, conf, layout);
    assertTrue(planned.row().ok() && !planned.committed(), planned.row().error());
    org.tessera.spark.io.RangeCommit.Part part = org.tessera.spark.io.RangeCommit.parts("s",
        in.path(), planned.key(), planned.row().tileCount(), 4).get(1);
    ExecutorService pool = Executors.newFixedThreadPool(3);
    List<Future<SlideTasks.Stored>> attempts = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      attempts.add(pool.submit(() -> SlideTasks.readPixels(part, s, conf, layout)));
    }
    for (Future<SlideTasks.Stored> f : attempts) {
      assertTrue(f.get().ok(), f.get().error());
      assertEquals(part.rows(), f.get().tiles());
    }
    pool.shutdown();
    Path stored = Path.of(org.tessera.spark.io.RangeCommit.workPart(
        new org.apache.hadoop.fs.Path(layout.root()), part).toUri());
    assertEquals(part.rows(), org.tessera.spark.io.ParquetRows.readAll(conf,
        List.of(new org.apache.hadoop.fs.Path(stored.toUri()))).size());
    try (Stream<Path> files = Files.walk(out)) {
      assertEquals(List.of(), files.filter(p -> p.toString().endsWith(".tmp")).toList());
    }
    // A later attempt finds the range stored and leaves the file as it is.
    long before = Files.getLastModifiedTime(stored).toMillis();
    assertTrue(SlideTasks.readPixels(part, s, conf, layout).ok());
    assertEquals(before, Files.getLastModifiedTime(stored).toMillis());
  }

  @Test
  void aFolderWithoutSlidesIsAOneLineErrorNamingTheSubfolderThatHasThem() throws IOException {
    Path root = SparkTestSupport.cohort();
    TesseraCliTest.Result r = TesseraCliTest.cli("tile", "--slides", root.toString(), "--out",
        tmp.resolve("out").toString(), "--assume-mpp", "0.5");
    assertEquals(1, r.code(), r.out() + r.err());
    String err = r.err().strip();
    assertFalse(err.contains("\n"), err);
    assertTrue(err.contains(root.toString()) && err.contains("no slides"), err);
    assertTrue(err.contains(root.resolve(SynthCohort.SLIDES_DIR).toString()) && err.contains("6"),
        "names the subfolder holding the slides: " + err);

    Path empty = Files.createDirectories(tmp.resolve("empty"));
    Files.writeString(empty.resolve("labels.csv"), "slide_id,label\n");
    TesseraCliTest.Result none = TesseraCliTest.cli("tile", "--slides", empty.toString(),
        "--out", tmp.resolve("out2").toString(), "--assume-mpp", "0.5");
    assertEquals(1, none.code(), none.out() + none.err());
    assertFalse(none.err().strip().contains("\n"), none.err());
    assertTrue(none.err().contains(empty.toString()), none.err());
  }

  @Test
  void idsStayWithTheirFilesWhenAFileWithAClashingNameIsAdded() throws IOException {
    Path slides = Files.createDirectories(tmp.resolve("clash"));
    List<Path> svs = slides(TileStageTest.cohortSlides, ".svs");
    List<Path> tif = slides(TileStageTest.cohortSlides, ".tif");
    Files.copy(svs.get(0), slides.resolve("a b.svs"));
    Files.copy(svs.get(1), slides.resolve("a_b.svs"));
    Files.copy(tif.get(0), slides.resolve("a_b.tif"));
    Path out = tmp.resolve("clash-out");
    String[] args = {"tile", "--slides", slides.toString(), "--out", out.toString(),
        "--assume-mpp", "0.5", "--tile", "256"};
    TesseraCliTest.Result first = TesseraCliTest.cli(args);
    assertEquals(0, first.code(), first.err());

    Files.copy(tif.get(1), slides.resolve("a+b.tif"));
    TesseraCliTest.Result second = TesseraCliTest.cli(args);
    assertEquals(0, second.code(), second.err());

    Map<String, Row> rows = TileStageTest.slideRows(out);
    assertEquals(4, rows.size(), rows.keySet().toString());
    Map<String, String> idByFile = new HashMap<>();
    for (Row r : rows.values()) {
      String file = new org.apache.hadoop.fs.Path(r.<String>getAs("path")).getName();
      assertTrue(idByFile.put(file, r.getAs("slide_id")) == null, "tiled twice: " + file);
      assertEquals("ok", r.getAs("status"));
    }
    assertEquals(Set.of("a b.svs", "a_b.svs", "a_b.tif", "a+b.tif"), idByFile.keySet());
    assertEquals("a_b", idByFile.get("a b.svs"), "ids of the first run are kept");
    assertEquals("a_b-2", idByFile.get("a_b.svs"));
    assertEquals("a_b-3", idByFile.get("a_b.tif"));
    assertEquals("a_b-4", idByFile.get("a+b.tif"));

    List<String> tiles = TileStageTest.tileRows(out);
    long expected = rows.values().stream().mapToLong(r -> r.<Long>getAs("tile_count")).sum();
    assertEquals(expected, tiles.size());
    Set<String> keys = new HashSet<>();
    for (String t : tiles) {
      String[] f = t.split(",");
      assertTrue(keys.add(f[0] + "/" + f[1] + "/" + f[2]), "duplicate tile " + t);
    }
    assertTrue(first.out().contains("a_b-2 <- a_b.svs"), "renamed ids are shown: " + first.out());
    assertTrue(second.out().contains("a_b-4 <- a+b.tif"), second.out());
  }
}
