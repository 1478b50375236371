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
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tessera.spark.SparkTestSupport;
import org.tessera.wsi.ReaderKind;
import org.tessera.wsi.synth.SynthCohort;
import org.tessera.wsi.tiling.TilingParams;
import org.tessera.wsi.tissue.TissueParams;

class TileStageTest {
  static SparkSession spark;
  static Path cohortSlides;

  @TempDir
  Path tmp;

  @BeforeAll
  static void start() throws IOException {
    spark = SparkTestSupport.localSession("TileStageTest");
    cohortSlides = SparkTestSupport.cohort().resolve(SynthCohort.SLIDES_DIR);
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  static TileSettings settings(boolean assumeMpp, boolean pixels, boolean overwrite) {
    return new TileSettings(new TilingParams(0.5, 256, 256, 0.5, 16,
        assumeMpp ? 0.5 : null, TissueParams.defaults()), pixels, "png", 90, 7, overwrite,
        System.getProperty("java.io.tmpdir") + "/slide-cache");
  }

  static TileStage.Summary run(Path slides, Path out, TileSettings s) throws IOException {
    return TileStage.run(spark, slides.toString(), out.toString(), s,
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
  }

  /** Every tile row as a sortable string, pixels by hash: equal lists mean equal outputs. */
  static List<String> tileRows(Path out) {
    Dataset<Row> df = spark.read().parquet(out.resolve("tiles").toString());
    List<String> rows = new ArrayList<>();
    for (Row r : df.collectAsList()) {
      byte[] px = r.isNullAt(r.fieldIndex("pixels")) ? null : (byte[]) r.getAs("pixels");
      rows.add(String.join(",", r.getAs("slide_id"), "" + r.getAs("col"), "" + r.getAs("row"),
          "" + r.getAs("x"), "" + r.getAs("y"), "" + r.getAs("level"),
          "" + r.getAs("size_at_level"), "" + r.getAs("tissue_fraction"),
          px == null ? "-" : Integer.toHexString(java.util.Arrays.hashCode(px))));
    }
    rows.sort(null);
    return rows;
  }

  static Map<String, Row> slideRows(Path out) {
    Map<String, Row> m = new TreeMap<>();
    for (Row r : spark.read().parquet(out.resolve("slides").toString()).collectAsList()) {
      m.put(r.getAs("slide_id"), r);
    }
    return m;
  }

  static void copySlides(Path to) throws IOException {
    Files.createDirectories(to);
    try (Stream<Path> s = Files.list(cohortSlides)) {
      for (Path p : s.toList()) {
        Files.copy(p, to.resolve(p.getFileName()));
      }
    }
  }

  @Test
  void everyReaderGivesTheSameTilesAndTheSlideRowsNameTheOneUsed() throws IOException {
    Map<String, List<String>> rows = new TreeMap<>();
    for (ReaderKind kind : ReaderKind.values()) {
      TileSettings base = settings(true, true, false);
      TileSettings s = new TileSettings(base.tiling(), true, "raw", 90, base.tilesPerTask(), false,
          base.cacheDir(), kind);
      Path out = tmp.resolve("by-reader-" + kind.optionName());
      run(cohortSlides, out, s);
      rows.put(kind.optionName(), tileRows(out));
      // The synthetic cohort is tiled JPEG Aperio and generic TIFF: the direct reader reads both.
      String used = kind == ReaderKind.OPENSLIDE ? "openslide" : "direct";
      for (Row r : slideRows(out).values()) {
        assertEquals("ok", r.getAs("status"), r.toString());
        assertEquals(used, r.getAs("reader"), kind + ": " + r.getAs("slide_id"));
      }
      assertTrue(Files.readString(out.resolve("tile_params.json")).replaceAll("\\s", "")
          .contains("\"reader\":\"" + kind.optionName() + "\""), kind.toString());
    }
    assertFalse(rows.get("openslide").isEmpty());
    assertEquals(rows.get("openslide"), rows.get("direct"));
    assertEquals(rows.get("openslide"), rows.get("auto"));
  }

  @Test
  void tilesACohortAndReportsEveryBadFileWithoutStopping() throws IOException {
    Path slides = tmp.resolve("mixed");
    copySlides(slides);
    Path good = Files.list(cohortSlides).filter(p -> p.toString().endsWith(".svs")).findFirst()
        .orElseThrow();
    Files.createFile(slides.resolve("empty.svs"));
    byte[] bytes = Files.readAllBytes(good);
    Files.write(slides.resolve("truncated.svs"), java.util.Arrays.copyOf(bytes, bytes.length / 3));
    byte[] noise = new byte[200_000];
    new Random(3).nextBytes(noise);
    Files.write(slides.resolve("corrupt.tif"), noise);
    javax.imageio.ImageIO.write(new java.awt.image.BufferedImage(64, 64,
        java.awt.image.BufferedImage.TYPE_INT_RGB), "png", slides.resolve("photo.png").toFile());
    Files.writeString(slides.resolve("notes.txt"), "not a slide");
    Files.createDirectories(slides.resolve("subfolder"));
    Files.writeString(slides.resolve("weird name (copy).tif"), "x");

    Path out = tmp.resolve("out");
    TileStage.Summary summary = run(slides, out, settings(true, false, false));

    assertEquals(6 + 5, summary.listed());
    assertEquals(6, summary.ok());
    assertEquals(5, summary.failed());
    assertEquals(Set.of("empty", "truncated", "corrupt", "photo", "weird_name__copy_"),
        summary.failures().keySet());
    assertEquals(1, summary.ignoredFiles().size());
    assertTrue(summary.ignoredFiles().get(0).endsWith("notes.txt"));

    Map<String, Row> rows = slideRows(out);
    assertEquals(11, rows.size());
    long committedTiles = 0;
    for (Row r : rows.values()) {
      String status = r.getAs("status");
      if ("ok".equals(status)) {
        committedTiles += (long) r.getAs("tile_count");
        assertTrue((long) r.getAs("tile_count") > 0, "tissue tiles on " + r.getAs("slide_id"));
        assertTrue(Files.exists(Path.of(java.net.URI.create(r.getAs("qc_path")))));
      } else {
        String error = r.getAs("error");
        assertFalse(error.contains("\n"), error);
        assertTrue(error.contains(r.getAs("slide_id").toString().replace("weird_name__copy_",
            "weird name (copy)")), "error names the file: " + error);
      }
    }
    assertTrue(rows.get("empty").<String>getAs("error").contains("empty"),
        rows.get("empty").<String>getAs("error"));

    List<String> tiles = tileRows(out);
    assertEquals(committedTiles, tiles.size());
    Set<String> keys = new HashSet<>();
    for (String t : tiles) {
      String[] f = t.split(",");
      assertTrue(keys.add(f[0] + "/" + f[1] + "/" + f[2]), "duplicate tile " + t);
      assertTrue(Double.parseDouble(f[7]) >= 0.5, t);
    }
  }

  @Test
  void slidesWithoutMppFailClearlyUnlessAnMppIsAssumed() throws IOException {
    Path out = tmp.resolve("no-assume");
    TileStage.Summary s = run(cohortSlides, out, settings(false, false, false));
    assertEquals(3, s.ok());
    assertEquals(3, s.failed());
    for (String why : s.failures().values()) {
      assertTrue(why.contains("--assume-mpp"), why);
    }
    Map<String, Row> rows = slideRows(out);
    for (Row r : rows.values()) {
      if ("ok".equals(r.getAs("status"))) {
        assertEquals("aperio", r.getAs("vendor"));
        assertEquals(0.5, (double) r.getAs("mpp"), 1e-9);
        assertEquals("metadata", r.getAs("mpp_source"));
      } else {
        assertTrue(r.<String>getAs("path").endsWith(".tif"));
      }
    }
  }

  @Test
  void rerunSkipsFinishedSlidesAndKeepsTheSameOutput() throws IOException {
    Path out = tmp.resolve("rerun");
    TileStage.Summary first = run(cohortSlides, out, settings(true, false, false));
    List<String> before = tileRows(out);
    TileStage.Summary second = run(cohortSlides, out, settings(true, false, false));
    assertEquals(6, first.processed());
    assertEquals(0, second.processed());
    assertEquals(6, second.skipped());
    assertEquals(before, tileRows(out));

    TileStage.Summary redo = run(cohortSlides, out, settings(true, false, true));
    assertEquals(6, redo.processed());
    assertEquals(before, tileRows(out));
  }

  @Test
  void refusesToMixTilesMadeWithOtherParameters() throws IOException {
    Path out = tmp.resolve("params");
    run(cohortSlides, out, settings(true, false, false));
    TileSettings other = new TileSettings(new TilingParams(1.0, 224, 224, 0.5, 16, 0.5,
        TissueParams.defaults()), false, "jpeg", 90, 100, false, "/tmp");
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class, () -> run(cohortSlides, out, other));
    assertTrue(e.getMessage().contains("--overwrite"), e.getMessage());
  }

  @Test
  void storedPixelsAreSplitIntoRangesAndMatchTheSlide() throws IOException {
    Path out = tmp.resolve("pixels");
    TileStage.Summary s = run(cohortSlides, out, settings(true, true, false));
    assertEquals(6, s.ok());
    Map<String, Row> rows = slideRows(out);
    List<String> tiles = tileRows(out);
    assertEquals(s.tiles(), tiles.size());
    for (String t : tiles) {
      assertFalse(t.endsWith(",-"), "pixels stored: " + t);
    }
    // 7 tiles per task: every slide with more tiles than that has several committed parts.
    for (Row r : rows.values()) {
      long n = r.getAs("tile_count");
      long parts;
      try (Stream<Path> files = Files.list(out.resolve("tiles"))) {
        parts = files.filter(p -> p.getFileName().toString()
            .startsWith(r.getAs("slide_id") + "+")).count();
      }
      assertEquals((n + 6) / 7, parts, "parts of " + r.getAs("slide_id"));
    }
    assertFalse(Files.exists(out.resolve("_work").resolve(rows.keySet().iterator().next())));

    // The stored pixels are the slide's pixels at that tile.
    Row first = spark.read().parquet(out.resolve("tiles").toString()).orderBy("slide_id", "row",
        "col").first();
    byte[] png = first.getAs("pixels");
    var decoded = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(png));
    String path = rows.get(first.<String>getAs("slide_id")).getAs("path");
    try (var reader = org.tessera.wsi.openslide.OpenSlideReader.open(
        Path.of(java.net.URI.create(path)))) {
      var expected = reader.readTile(org.tessera.wsi.region.TileRequest.of(first.getAs("level"),
          first.getAs("x"), first.getAs("y"), first.getAs("size_at_level"),
          first.getAs("tile_size")));
      assertEquals(256, decoded.getWidth());
      for (int y = 0; y < 256; y += 17) {
        for (int x = 0; x < 256; x += 13) {
          assertEquals(expected.getRGB(x, y), decoded.getRGB(x, y), "pixel " + x + "," + y);
        }
      }
    }
  }

  @Test
  void interruptedCommitsAreRedoneWithoutLossOrDuplicates() throws IOException {
    Path reference = tmp.resolve("reference");
    run(cohortSlides, reference, settings(true, true, false));
    List<String> expected = tileRows(reference);

    Path out = tmp.resolve("crashed");
    run(cohortSlides, out, settings(true, true, false));
    Map<String, Row> rows = slideRows(out);
    List<String> ids = new ArrayList<>(rows.keySet());
    // Slide A died after its tiles were committed but before its slide row was written.
    Files.delete(out.resolve("slides").resolve(ids.get(0) + ".parquet"));
    // Slide B died half-way through renaming its parts into place: one part moved, the rest and
    // its plan still in _work.
    String b = ids.get(1);
    Path work = Files.createDirectories(out.resolve("_work").resolve(b));
    try (Stream<Path> parts = Files.list(out.resolve("tiles"))) {
      List<Path> mine = parts.filter(p -> p.getFileName().toString().startsWith(b + "+")).sorted()
          .toList();
      for (int k = 1; k < mine.size(); k++) {
        Files.move(mine.get(k), work.resolve(String.format("part-%05d.parquet", k)));
      }
    }
    Files.delete(out.resolve("slides").resolve(b + ".parquet"));
    // Slide C died while writing a file: a temporary file is left behind.
    Files.writeString(Files.createDirectories(out.resolve("tiles").resolve("_tmp"))
        .resolve(ids.get(2) + "+00000.parquet.dead.tmp"), "partial");

    TileStage.Summary resumed = run(cohortSlides, out, settings(true, true, false));
    assertEquals(2, resumed.processed());
    assertEquals(expected, tileRows(out));
    assertEquals(6, slideRows(out).size());
  }
}
