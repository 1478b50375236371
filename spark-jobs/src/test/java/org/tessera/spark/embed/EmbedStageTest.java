package org.tessera.spark.embed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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

  static String sha256(Path file) throws Exception {
    return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
        .digest(Files.readAllBytes(file)));
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
          "", true, 7, 0, 5, "none", "", 16, false, cache, false, EmbedSettings.Onnx.NONE, kind), QUIET);
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

  /** Stored feature ranges not yet committed: {@code part-*.parquet} anywhere under _work. */
  private static long workParts(Path feat) {
    Path work = feat.resolve("_work");
    if (!Files.isDirectory(work)) {
      return 0;
    }
    try (Stream<Path> files = Files.walk(work)) {
      return files.filter(p -> p.getFileName().toString().startsWith("part-")
          && p.getFileName().toString().endsWith(".parquet")).count();
    } catch (IOException | java.io.UncheckedIOException e) {
      return 0;
    }
  }

  @Test
  void killedRunResumedWithOtherRangesEmbedsEveryTileOnce() throws Exception {
    Path reference = tmp.resolve("clean-ranges");
    EmbedStage.run(spark, tiles.toString(), reference.toString(), smallCnn(8, false), QUIET);
    Map<String, float[]> expected = features(reference);

    // A run with ranges of 2 tiles, killed (SIGKILL, a separate JVM) while its ranges are being
    // written, then resumed with ranges of 16.
    Path feat = tmp.resolve("killed-ranges");
    java.util.List<String> cmd = new java.util.ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(SparkTestSupport.jvmOptions());
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"),
        "org.tessera.spark.cli.TesseraCli", "embed", "--tiles", tiles.toString(), "--out",
        feat.toString(), "--encoder", "small-cnn", "--random-init", "--seed", "7", "--batch", "8",
        "--tiles-per-task", "2", "--master", "local[1]"));
    Path log = tmp.resolve("killed-ranges.log");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
    Process child = pb.start();
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(180);
    while (workParts(feat) < 4) {
      assertTrue(child.isAlive(), "the embed run ended before it could be killed; log in " + log);
      assertTrue(System.nanoTime() < deadline, "the embed run made no progress in 180 s");
      Thread.sleep(5);
    }
    child.destroyForcibly();
    child.waitFor(30, java.util.concurrent.TimeUnit.SECONDS);
    assertTrue(workParts(feat) >= 4, "the kill left stored ranges");

    EmbedStage.Summary resumed = EmbedStage.run(spark, tiles.toString(), feat.toString(),
        smallCnn(8, false), QUIET);
    assertEquals(0, resumed.failed(), resumed.describe());
    Map<String, float[]> actual = features(feat);
    assertEquals(expected.keySet(), actual.keySet(), "every tile embedded, none twice");
    for (String k : expected.keySet()) {
      float[] x = expected.get(k);
      float[] y = actual.get(k);
      for (int i = 0; i < x.length; i++) {
        assertEquals(x[i], y[i], 1e-5, "features of " + k);
      }
    }
    assertEquals(0, workParts(feat));
  }

  @Test
  void concurrentAttemptsOfARangeWriteOnePart() throws Exception {
    Row slide = spark.read().parquet(tiles.resolve("slides").toString())
        .where("status = 'ok'").orderBy("slide_id").first();
    EmbedSettings settings = smallCnn(8, false);
    TilePreprocessor.Config pre = EmbedStage.preprocessing(settings,
        EncoderPool.encoder(settings).inputSize());
    long n = slide.<Long>getAs("tile_count");
    org.tessera.spark.io.RangeCommit.Part part = org.tessera.spark.io.RangeCommit.parts(
        slide.getAs("slide_id"), slide.getAs("path"), "k", n, (int) n).get(0);
    Path feat = tmp.resolve("concurrent-feat");
    var conf = spark.sparkContext().hadoopConfiguration();
    var pool = java.util.concurrent.Executors.newFixedThreadPool(3);
    List<java.util.concurrent.Future<EmbedTasks.Done>> attempts = new java.util.ArrayList<>();
    for (int i = 0; i < 3; i++) {
      attempts.add(pool.submit(() -> EmbedTasks.embed(part, settings, pre, conf,
          tiles.toUri().toString(), feat.toUri().toString())));
    }
    for (var f : attempts) {
      assertTrue(f.get().ok(), f.get().error());
      assertEquals(n, f.get().tiles());
    }
    pool.shutdown();
    List<Path> parts;
    try (Stream<Path> files = Files.walk(feat)) {
      // Hadoop's local file system keeps a hidden .crc beside each file.
      parts = files.filter(p -> Files.isRegularFile(p)
          && !p.getFileName().toString().startsWith(".")).toList();
    }
    assertEquals(1, parts.size(), "one part, no temporary file: " + parts);
    assertEquals(n, spark.read().parquet(parts.get(0).toString()).count());
  }

  @Test
  void anEmptyTileIndexIsAOneLineErrorThatSaysToRunTileFirst() throws IOException {
    Path empty = Files.createDirectories(tmp.resolve("empty-tiles").resolve("slides"))
        .getParent();
    org.tessera.spark.cli.TesseraCliTest.Result r = org.tessera.spark.cli.TesseraCliTest.cli(
        "embed", "--tiles", empty.toString(), "--out", tmp.resolve("empty-feat").toString(),
        "--encoder", "small-cnn", "--random-init");
    assertEquals(1, r.code(), r.out() + r.err());
    String err = r.err().strip();
    assertFalse(err.contains("\n"), err);
    assertTrue(err.contains(empty.toString()) && err.contains("no committed slide")
        && err.contains("tessera tile"), err);
    assertFalse(Files.exists(tmp.resolve("empty-feat").resolve(EmbedStage.MANIFEST)),
        "nothing is claimed");
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

  /**
   * vit_b_16 at 64 px (seeded random init) exported by tools/export-onnx with mean pooling in its
   * config, kept under target/; needs Debian's torch, and fails without it.
   */
  static Path onnxVit() throws Exception {
    Path dir = Path.of("target", "onnx-embed-test");
    Path model = dir.resolve("vit_b_16_64.onnx");
    if (!Files.exists(dir.resolve("done"))) {
      Files.createDirectories(dir);
      Path log = dir.resolve("export.log");
      Process p = new ProcessBuilder("/usr/bin/python3", "../tools/export-onnx", "--model",
          "vit_b_16", "--random-init", "5", "--input-size", "64", "--pooling", "mean", "--out",
          model.toString()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
      assertTrue(p.waitFor(300, java.util.concurrent.TimeUnit.SECONDS), "export timed out");
      assertEquals(0, p.exitValue(), "tools/export-onnx failed (needs apt-get install -y "
          + "python3-torch python3-torchvision):\n" + Files.readString(log));
      Files.writeString(dir.resolve("done"), "");
    }
    return model;
  }

  @Test
  void onnxEncoderEmbedsEndToEnd() throws Exception {
    Path model = onnxVit();
    EmbedSettings onnx = new EmbedSettings("onnx", model.toString(), "", false, 0, 0, 6, "none",
        "", 16, false, System.getProperty("java.io.tmpdir") + "/slide-cache", false,
        new EmbedSettings.Onnx("", "", "", "", "0.25,0.25,0.25"));
    Path feat = tmp.resolve("feat-onnx");
    EmbedStage.Summary s = EmbedStage.run(spark, tiles.toString(), feat.toString(), onnx, QUIET);
    assertEquals(6, s.ok(), String.valueOf(s.failures()));
    assertEquals(768, s.encoder().featureDim());
    assertEquals("tokens:mean", s.encoder().cutLayer());
    Map<String, float[]> f = features(feat);
    assertEquals(spark.read().parquet(tiles.resolve("tiles").toString()).count(), f.size());

    var manifest = org.tessera.spark.io.Json.MAPPER.readTree(feat.resolve(EmbedStage.MANIFEST).toFile());
    assertEquals(sha256(model), manifest.at("/encoder/weights_sha256")
        .asText());
    assertEquals("vit_b_16_64.onnx.json", manifest.at("/encoder_model/config").asText());
    assertEquals("mean", manifest.at("/encoder_model/pooling").asText());
    assertEquals("size=64,mean=[0.485,0.456,0.406],std=[0.25,0.25,0.25],stain=none",
        manifest.get("preprocessing").asText());
    for (Row r : spark.read().parquet(feat.resolve("slides").toString()).collectAsList()) {
      assertEquals("cpu (onnxruntime, 1 thread)", r.getAs("device"));
    }

    // The same tile through the same session in this JVM, without Spark.
    Row t = spark.read().parquet(tiles.resolve("tiles").toString())
        .orderBy("slide_id", "row", "col").first();
    Row slide = spark.read().parquet(tiles.resolve("slides").toString())
        .where("slide_id = '" + t.<String>getAs("slide_id") + "'").first();
    PatchEncoder enc = EncoderPool.encoder(onnx);
    TilePreprocessor pre = new TilePreprocessor(enc.preprocessing());
    assertEquals(manifest.get("preprocessing").asText(), pre.config().describe());
    float[] input = new float[pre.floatsPerTile()];
    try (OpenSlideReader reader = OpenSlideReader.open(
        Path.of(java.net.URI.create(slide.getAs("path"))))) {
      int[] rgb = reader.readTilePixels(TileRequest.of(t.getAs("level"), t.getAs("x"),
          t.getAs("y"), t.getAs("size_at_level"), t.getAs("tile_size")));
      pre.toChw(rgb, 256, 256, input, 0);
    }
    float[] expected = enc.embed(input, 1);
    float[] actual = f.get(t.<String>getAs("slide_id") + "/" + t.getAs("col") + "/"
        + t.getAs("row"));
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], actual[i], 1e-5 * Math.max(1, Math.abs(expected[i])),
          "feature " + i);
    }

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new EmbedSettings("small-cnn", "", "", true, 7, 0, 8, "none", "", 16, false, "/tmp",
            false, new EmbedSettings.Onnx("", "", "mean", "", "")));
    assertEquals("--onnx-config, --onnx-output, --pooling, --mean and --std apply to --encoder "
        + "onnx only, not small-cnn", e.getMessage());
  }

  @Test
  void onnxSessionsAreKeptPerDevice() throws Exception {
    EmbedSettings onnx = new EmbedSettings("onnx", onnxVit().toString(), "", false, 0, 0, 6,
        "none", "", 16, false, "/tmp", false, EmbedSettings.Onnx.NONE);
    // GPUs 0 and 1 of one executor are two sessions; the CPU sessions are keyed by threads.
    var gpu0 = new org.tessera.core.nn.OnnxDevice(OptionalInt.of(0), 2, "");
    var gpu1 = new org.tessera.core.nn.OnnxDevice(OptionalInt.of(1), 2, "");
    assertTrue(!EncoderPool.key(onnx, gpu0).equals(EncoderPool.key(onnx, gpu1)));
    // Other encoders are one per JVM whatever the device.
    assertEquals(EncoderPool.key(smallCnn(8, false), gpu0),
        EncoderPool.key(smallCnn(8, false), gpu1));
    PatchEncoder one = EncoderPool.encoder(onnx, org.tessera.core.nn.OnnxDevice.cpu(1));
    PatchEncoder two = EncoderPool.encoder(onnx, org.tessera.core.nn.OnnxDevice.cpu(2));
    assertTrue(one != two);
    assertTrue(one == EncoderPool.encoder(onnx, org.tessera.core.nn.OnnxDevice.cpu(1)));
    assertEquals("cpu (onnxruntime, 2 threads)", two.device());
    assertEquals(one.spec(), two.spec());

    // A task's resources pick the device; this CPU-only build reports an assigned GPU.
    var device = GpuAssignment.onnxDevice(Map.of("gpu",
        new ResourceInformation("gpu", new String[] {"1"})), 4);
    assertEquals("cpu:4", device.key());
    assertTrue(device.describe().contains("gpu 1 assigned, but this build's ONNX Runtime has no"
        + " CUDA provider; build with -Pgpu"), device.describe());
    assertEquals("cpu:2", GpuAssignment.onnxDevice(Map.of(), 2).key());
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
