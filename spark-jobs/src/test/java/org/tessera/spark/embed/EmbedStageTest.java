package org.tessera.spark.embed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.factory.Nd4j;
import org.tessera.core.image.TilePreprocessor;
import org.tessera.core.nn.PatchEncoder;
import org.tessera.spark.SparkTestSupport;
import org.tessera.spark.tile.TileSettings;
import org.tessera.spark.tile.TileStage;
import org.tessera.wsi.openslide.OpenSlideReader;
import org.tessera.wsi.region.TileRequest;
import org.tessera.wsi.ReaderKind;
import org.tessera.wsi.synth.SynthCohort;
import org.tessera.wsi.tiling.TilingParams;
import org.tessera.wsi.tissue.TissueParams;

class EmbedStageTest {
  static SparkSession spark;
  static Path tiles;
  static Path pixelTiles;

  @TempDir
  static Path tmp;

  static final PrintStream QUIET =
      new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);

  static TileSettings tiling(boolean pixels) {
    return new TileSettings(new TilingParams(0.5, 256, 256, 0.5, 16, 0.5,
        TissueParams.defaults()), pixels, "raw", 90, 1000, false,
        System.getProperty("java.io.tmpdir") + "/slide-cache");
  }

  static EmbedSettings smallCnn(int batch, boolean overwrite) {
    return new EmbedSettings("small-cnn", "", "", true, 7, 0, batch, "none", "", 16, overwrite,
        System.getProperty("java.io.tmpdir") + "/slide-cache");
  }

  @BeforeAll
  static void setUp() throws IOException {
    spark = SparkTestSupport.localSession("EmbedStageTest");
    Path slides = SparkTestSupport.cohort().resolve(SynthCohort.SLIDES_DIR);
    tiles = tmp.resolve("tiles");
    TileStage.run(spark, slides.toString(), tiles.toString(), tiling(false), QUIET);
    pixelTiles = tmp.resolve("tiles-pixels");
    TileStage.run(spark, slides.toString(), pixelTiles.toString(), tiling(true), QUIET);
  }

  @AfterAll
  static void tearDown() {
    spark.stop();
  }

  static Map<String, float[]> features(Path feat) {
    Map<String, float[]> m = new TreeMap<>();
    for (Row r : spark.read().parquet(feat.resolve("features").toString()).collectAsList()) {
      List<Float> f = r.getList(r.fieldIndex("features"));
      float[] a = new float[f.size()];
      for (int i = 0; i < a.length; i++) {
        a[i] = f.get(i);
      }
      String key = r.<String>getAs("slide_id") + "/" + r.getAs("col") + "/" + r.getAs("row");
      assertTrue(m.put(key, a) == null, "duplicate feature row " + key);
    }
    return m;
  }

  @Test
  void everyTileGetsAFeatureVectorEqualToTheSingleJvmEncoder() throws Exception {
    Path feat = tmp.resolve("feat");
    EmbedStage.Summary s = EmbedStage.run(spark, tiles.toString(), feat.toString(),
        smallCnn(8, false), QUIET);
    assertEquals(6, s.ok());
    assertEquals(0, s.failed());
    Map<String, float[]> f = features(feat);
    long tileRows = spark.read().parquet(tiles.resolve("tiles").toString()).count();
    assertEquals(tileRows, f.size());
    assertEquals(tileRows, s.tiles());
    int dim = s.encoder().featureDim();
    for (float[] v : f.values()) {
      assertEquals(dim, v.length);
      for (float x : v) {
        assertTrue(Float.isFinite(x));
      }
    }
    assertTrue(Files.exists(feat.resolve(EmbedStage.MANIFEST)));

    // The same tile through the encoder in this JVM, without Spark.
    Row t = spark.read().parquet(tiles.resolve("tiles").toString())
        .orderBy("slide_id", "row", "col").first();
    Row slide = spark.read().parquet(tiles.resolve("slides").toString())
        .where("slide_id = '" + t.<String>getAs("slide_id") + "'").first();
    PatchEncoder enc = EncoderPool.encoder(smallCnn(8, false));
    TilePreprocessor pre = new TilePreprocessor(TilePreprocessor.Config.imagenet(enc.inputSize()));
    float[] input = new float[3 * enc.inputSize() * enc.inputSize()];
    try (OpenSlideReader reader = OpenSlideReader.open(
        Path.of(java.net.URI.create(slide.getAs("path"))))) {
      int[] rgb = reader.readTilePixels(TileRequest.of(t.getAs("level"), t.getAs("x"),
          t.getAs("y"), t.getAs("size_at_level"), t.getAs("tile_size")));
      pre.toChw(rgb, 256, 256, input, 0);
    }
    float[] expected;
    synchronized (enc) {
      expected = enc.embed(Nd4j.create(input, new long[] {1, 3, enc.inputSize(),
          enc.inputSize()}, 'c')).data().asFloat();
    }
    float[] actual = f.get(t.<String>getAs("slide_id") + "/" + t.getAs("col") + "/"
        + t.getAs("row"));
    for (int i = 0; i < dim; i++) {
      assertEquals(expected[i], actual[i], 1e-5, "feature " + i);
    }
  }

  @Test
  void storedPixelsGiveTheSameFeaturesAsReadingTheSlide() throws IOException {
    Path a = tmp.resolve("from-slide");
    Path b = tmp.resolve("from-pixels");
    EmbedStage.run(spark, tiles.toString(), a.toString(), smallCnn(5, false), QUIET);
    EmbedStage.run(spark, pixelTiles.toString(), b.toString(), smallCnn(5, false), QUIET);
    Map<String, float[]> fa = features(a);
    Map<String, float[]> fb = features(b);
    assertEquals(fa.keySet(), fb.keySet());
    for (String k : fa.keySet()) {
      float[] x = fa.get(k);
      float[] y = fb.get(k);
      for (int i = 0; i < x.length; i++) {
        assertEquals(x[i], y[i], 1e-5, k);
      }
    }
  }

  @Test
  void everyReaderGivesTheSameFeatures() throws IOException {
    String cache = System.getProperty("java.io.tmpdir") + "/slide-cache";
    Map<String, Map<String, float[]>> byReader = new java.util.TreeMap<>();
    for (ReaderKind kind : ReaderKind.values()) {
      Path out = tmp.resolve("reader-" + kind.optionName());
      EmbedStage.run(spark, tiles.toString(), out.toString(), new EmbedSettings("small-cnn", "",
          "", true, 7, 0, 5, "none", "", 16, false, cache, false, kind), QUIET);
      byReader.put(kind.optionName(), features(out));
    }
    Map<String, float[]> reference = byReader.get("openslide");
    assertTrue(reference.size() > 0);
    for (var e : byReader.entrySet()) {
      assertEquals(reference.keySet(), e.getValue().keySet(), e.getKey());
      for (String k : reference.keySet()) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(reference.get(k),
            e.getValue().get(k), e.getKey() + ": " + k);
      }
    }
  }

  @Test
  void rerunSkipsDoneSlidesAndRefusesAnotherEncoder() throws IOException {
    Path feat = tmp.resolve("rerun");
    EmbedStage.run(spark, tiles.toString(), feat.toString(), smallCnn(8, false), QUIET);
    Map<String, float[]> first = features(feat);
    EmbedStage.Summary again = EmbedStage.run(spark, tiles.toString(), feat.toString(),
        smallCnn(8, false), QUIET);
    assertEquals(0, again.processed());
    EmbedStage.Summary redo = EmbedStage.run(spark, tiles.toString(), feat.toString(),
        smallCnn(3, true), QUIET);
    assertEquals(6, redo.processed());
    Map<String, float[]> second = features(feat);
    for (String k : first.keySet()) {
      float[] x = first.get(k);
      float[] y = second.get(k);
      for (int i = 0; i < x.length; i++) {
        assertEquals(x[i], y[i], 1e-5, "batch size must not change features: " + k);
      }
    }
    EmbedSettings other = new EmbedSettings("small-cnn", "", "", true, 99, 0, 8, "none", "", 16,
        false, "/tmp");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> EmbedStage.run(spark, tiles.toString(), feat.toString(), other, QUIET));
    assertTrue(e.getMessage().contains("--overwrite"), e.getMessage());
  }

  @Test
  void anUnreadableSlideFailsAloneWithAReason() throws IOException {
    Path slides = Files.createDirectories(tmp.resolve("fragile"));
    try (Stream<Path> s = Files.list(SparkTestSupport.cohort().resolve(SynthCohort.SLIDES_DIR))) {
      for (Path p : s.toList()) {
        Files.copy(p, slides.resolve(p.getFileName()));
      }
    }
    Path t = tmp.resolve("fragile-tiles");
    TileStage.run(spark, slides.toString(), t.toString(), tiling(false), QUIET);
    // After tiling, one slide's file is damaged: its tiles can no longer be read.
    Path victim;
    try (Stream<Path> s = Files.list(slides)) {
      victim = s.filter(p -> p.toString().endsWith(".svs")).sorted().findFirst().orElseThrow();
    }
    // Zeros in place of every byte: whether a reader is already open or the slide is opened
    // afresh, no tile of it decodes.
    Files.write(victim, new byte[(int) Files.size(victim)]);
    String victimId = victim.getFileName().toString().replace(".svs", "");

    EmbedStage.Summary s = EmbedStage.run(spark, t.toString(), tmp.resolve("fragile-feat")
        .toString(), smallCnn(8, false), QUIET);
    assertEquals(5, s.ok());
    assertEquals(1, s.failed());
    String why = s.failures().get(victimId);
    assertTrue(why != null && !why.contains("\n"), String.valueOf(s.failures()));
  }

  @Test
  void missingWeightsAreAClearErrorBeforeAnyTask() {
    EmbedSettings noWeights = new EmbedSettings("resnet50-trunc", "", "", false, 0, 0, 8, "none",
        "", 16, false, "/tmp");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> EmbedStage.run(spark, tiles.toString(), tmp.resolve("x").toString(), noWeights,
            QUIET));
    assertTrue(e.getMessage().contains("--weights") && e.getMessage().contains("--random-init"),
        e.getMessage());
  }

  @Test
  void tasksUseTheGpuSparkAssignedThem() {
    assertEquals(OptionalInt.empty(), GpuAssignment.assigned(Map.of()));
    assertEquals(OptionalInt.of(3), GpuAssignment.assigned(Map.of("gpu",
        new ResourceInformation("gpu", new String[] {"3", "4"}))));
    assertEquals(OptionalInt.empty(), GpuAssignment.assigned(Map.of("gpu",
        new ResourceInformation("gpu", new String[0]))));
    assertThrows(IllegalStateException.class, () -> GpuAssignment.assigned(Map.of("gpu",
        new ResourceInformation("gpu", new String[] {"GPU-uuid"}))));
    // This build runs ND4J on the CPU: an assigned GPU is reported, not silently used.
    assertTrue(GpuAssignment.bind(OptionalInt.of(1)).startsWith("cpu (gpu 1 assigned"));
    assertEquals("cpu", GpuAssignment.bind(OptionalInt.empty()));
  }
}
