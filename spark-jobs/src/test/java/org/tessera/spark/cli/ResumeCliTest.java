package org.tessera.spark.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.tessera.spark.cli.TesseraCliTest.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tessera.spark.SparkTestSupport;
import org.tessera.spark.cli.TesseraCliTest.Result;
import org.tessera.spark.io.OutputLock;
import org.tessera.spark.tile.TileSettings;
import org.tessera.spark.tile.TileStage;
import org.tessera.wsi.tiling.TilingParams;
import org.tessera.wsi.tissue.TissueParams;
import org.tessera.wsi.synth.SynthCohort;

/**
 * Re-runs as a user types them: the same command twice resumes, a changed parameter is refused
 * without touching the output, and {@code --overwrite} leaves only what the new run made.
 */
class ResumeCliTest {
  static SparkSession spark;
  static Path cohortSlides;

  @TempDir
  Path tmp;

  @BeforeAll
  static void start() throws IOException {
    spark = SparkTestSupport.localSession("ResumeCliTest");
    cohortSlides = SparkTestSupport.cohort().resolve(SynthCohort.SLIDES_DIR);
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  /** The cohort's Aperio-flavoured slides (they record their MPP), copied to {@code dir}. */
  static Path aperioSlides(Path dir) throws IOException {
    return copySlides(dir, p -> p.getFileName().toString().endsWith(".svs"));
  }

  static Path copySlides(Path dir, java.util.function.Predicate<Path> which) throws IOException {
    Files.createDirectories(dir);
    try (Stream<Path> s = Files.list(cohortSlides)) {
      for (Path p : s.filter(which).toList()) {
        Files.copy(p, dir.resolve(p.getFileName()));
      }
    }
    return dir;
  }

  /** Every file under {@code dir} by relative path, with its content's digest. */
  static Map<String, String> checksums(Path dir) throws Exception {
    Map<String, String> m = new TreeMap<>();
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.filter(Files::isRegularFile).toList()) {
        m.put(dir.relativize(p).toString(), HexFormat.of().formatHex(md.digest(
            Files.readAllBytes(p))));
      }
    }
    return m;
  }

  static Set<String> ids(Path table) {
    Set<String> ids = new TreeSet<>();
    for (Row r : spark.read().parquet(table.toString()).select("slide_id").distinct()
        .collectAsList()) {
      ids.add(r.getString(0));
    }
    return ids;
  }

  @Test
  void tileTwiceWithTheDefaultsResumesAndAnotherTileSizeIsRefused() throws Exception {
    Path slides = aperioSlides(tmp.resolve("aperio"));
    Path out = tmp.resolve("tiles");
    Result first = cli("tile", "--slides", slides.toString(), "--out", out.toString());
    assertEquals(0, first.code(), first.err());
    assertTrue(first.out().contains("3 ok, 0 failed"), first.out());

    Result again = cli("tile", "--slides", slides.toString(), "--out", out.toString());
    assertEquals(0, again.code(), again.err());
    assertTrue(again.out().contains("3 already done, 0 to process"), again.out());
    assertFalse(Files.exists(out.resolve(OutputLock.FILE)), "no lock is left after a run");

    Map<String, String> before = checksums(out);
    Result other = cli("tile", "--slides", slides.toString(), "--out", out.toString(),
        "--tile", "512");
    assertEquals(1, other.code(), other.out());
    assertEquals(1, other.err().strip().lines().count(), other.err());
    assertTrue(other.err().contains("--overwrite") && other.err().contains(out.toString()),
        other.err());
    assertEquals(before, checksums(out), "a refused run leaves the output as it was");
  }

  /** {@code tile_params.json} as the earlier version wrote it for the default command. */
  static final String EARLIER_TILE_PARAMS = """
      {
        "tiling" : {
          "target_mpp" : 0.5,
          "tile_size" : 256,
          "stride" : 256,
          "min_tissue" : 0.5,
          "seg_downsample" : 16.0,
          "assume_mpp_or_na_n" : "NaN",
          "tissue" : {
            "threshold" : -1,
            "low_threshold" : 8,
            "median_kernel" : 7,
            "close_kernel" : 4,
            "fill_holes" : true,
            "min_hole_area" : 65536.0,
            "min_tissue_area" : 262144.0
          }
        },
        "store_pixels" : false
      }""";

  /** The same parameters with the record components' own names. */
  static final String EARLIER_CAMEL_TILE_PARAMS = """
      {
        "tiling" : {
          "targetMpp" : 0.5,
          "tileSize" : 256,
          "stride" : 256,
          "minTissue" : 0.5,
          "segDownsample" : 16.0,
          "assumeMppOrNaN" : NaN,
          "tissue" : {
            "threshold" : -1,
            "lowThreshold" : 8,
            "medianKernel" : 7,
            "closeKernel" : 4,
            "fillHoles" : true,
            "minHoleArea" : 65536.0,
            "minTissueArea" : 262144.0
          }
        },
        "storePixels" : false
      }""";

  @Test
  void aTileOutputOfTheEarlierVersionIsResumed() throws Exception {
    Path slides = aperioSlides(tmp.resolve("aperio"));
    Path out = tmp.resolve("tiles");
    assertEquals(0, cli("tile", "--slides", slides.toString(), "--out", out.toString()).code());
    for (String earlier : List.of(EARLIER_TILE_PARAMS, EARLIER_CAMEL_TILE_PARAMS)) {
      Files.writeString(out.resolve("tile_params.json"), earlier);
      Result again = cli("tile", "--slides", slides.toString(), "--out", out.toString());
      assertEquals(0, again.code(), again.err());
      assertTrue(again.out().contains("3 already done, 0 to process"), again.out());
      String rewritten = Files.readString(out.resolve("tile_params.json"));
      assertTrue(rewritten.contains("\"assume_mpp\" : null"), rewritten);
      assertFalse(rewritten.contains("NaN"), rewritten);

      Files.writeString(out.resolve("tile_params.json"), earlier.replace("256", "224"));
      Result other = cli("tile", "--slides", slides.toString(), "--out", out.toString());
      assertEquals(1, other.code(), other.out());
      assertTrue(other.err().contains("other parameters"), other.err());
    }
  }

  @Test
  void overwriteLeavesOnlyTheNewRunsTiles() throws Exception {
    Path slides = copySlides(tmp.resolve("all"), p -> true);
    Path out = tmp.resolve("tiles");
    Result first = cli("tile", "--slides", slides.toString(), "--out", out.toString(),
        "--assume-mpp", "0.5", "--tile", "256");
    assertEquals(0, first.code(), first.err());
    assertEquals(6, ids(out.resolve("slides")).size());

    // Two slides are no longer listed; the rest are redone at another tile size.
    try (Stream<Path> s = Files.list(slides)) {
      for (Path p : s.sorted().limit(2).toList()) {
        Files.delete(p);
      }
    }
    Result redo = cli("tile", "--slides", slides.toString(), "--out", out.toString(),
        "--assume-mpp", "0.5", "--tile", "512", "--overwrite");
    assertEquals(0, redo.code(), redo.err());

    Path fresh = tmp.resolve("fresh");
    Result clean = cli("tile", "--slides", slides.toString(), "--out", fresh.toString(),
        "--assume-mpp", "0.5", "--tile", "512");
    assertEquals(0, clean.code(), clean.err());

    assertEquals(ids(fresh.resolve("slides")), ids(out.resolve("slides")));
    assertEquals(ids(fresh.resolve("tiles")), ids(out.resolve("tiles")));
    assertEquals(4, ids(out.resolve("slides")).size());
    assertEquals(spark.read().parquet(fresh.resolve("tiles").toString()).count(),
        spark.read().parquet(out.resolve("tiles").toString()).count());
    assertEquals(checksums(fresh).keySet().stream().filter(k -> !k.contains("part-")).toList(),
        checksums(out).keySet().stream().filter(k -> !k.contains("part-")).toList());
  }

  @Test
  void twoRunsStartedTogetherOnOneOutputDoNotMix() throws Exception {
    Path slides = aperioSlides(tmp.resolve("aperio"));
    Path out = tmp.resolve("tiles");
    List<Integer> sizes = List.of(256, 512);
    java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(2);
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(2);
    List<java.util.concurrent.Future<String>> runs = new java.util.ArrayList<>();
    for (int size : sizes) {
      runs.add(pool.submit(() -> {
        TileSettings s = new TileSettings(new TilingParams(0.5, size, size, 0.5, 16, null,
            TissueParams.defaults()), false, "png", 90, 1000, false,
            tmp.resolve("cache").toString());
        start.await();
        try {
          TileStage.run(spark, slides.toString(), out.toString(), s,
              new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
          return "ok";
        } catch (IllegalArgumentException refused) {
          return refused.getMessage();
        }
      }));
    }
    List<String> outcomes = new java.util.ArrayList<>();
    for (var r : runs) {
      outcomes.add(r.get());
    }
    pool.shutdown();
    assertEquals(1, outcomes.stream().filter("ok"::equals).count(), outcomes.toString());
    int won = sizes.get(outcomes.indexOf("ok"));
    String params = Files.readString(out.resolve("tile_params.json"));
    assertTrue(params.contains("\"tile_size\" : " + won), params);
    for (Row r : spark.read().parquet(out.resolve("tiles").toString())
        .select("size_at_level").distinct().collectAsList()) {
      assertEquals(won, ((Number) r.get(0)).intValue(), "tiles of the run that proceeded only");
    }
    assertFalse(Files.exists(out.resolve(OutputLock.FILE)));
  }

  @Test
  void embedAndTrainTwiceWithTheSameOptionsResumeAndOtherOptionsAreRefused() throws Exception {
    Path tiles = tmp.resolve("tiles");
    assertEquals(0, cli("tile", "--slides", cohortSlides.toString(), "--out", tiles.toString(),
        "--assume-mpp", "0.5").code());
    Path feat = tmp.resolve("feat");
    String[] embed = {"embed", "--tiles", tiles.toString(), "--out", feat.toString(),
        "--encoder", "small-cnn", "--random-init"};
    Result first = cli(embed);
    assertEquals(0, first.code(), first.err());
    Result again = cli(embed);
    assertEquals(0, again.code(), again.err());
    assertTrue(again.out().contains("6 already done, 0 to embed"), again.out());
    Map<String, String> features = checksums(feat);
    Result seed = cli("embed", "--tiles", tiles.toString(), "--out", feat.toString(),
        "--encoder", "small-cnn", "--random-init", "--seed", "8");
    assertEquals(1, seed.code(), seed.out());
    assertTrue(seed.err().contains("features made with another encoder"), seed.err());
    assertEquals(features, checksums(feat));

    Path labels = SparkTestSupport.givenSplitLabels(tmp);
    Path run = tmp.resolve("run");
    String[] train = {"train", "--features", feat.toString(), "--labels", labels.toString(),
        "--model", "abmil", "--out", run.toString(), "--epochs", "2", "--workers", "1"};
    Result trained = cli(train);
    assertEquals(0, trained.code(), trained.err());
    Result retrained = cli(train);
    assertEquals(0, retrained.code(), retrained.err());
    assertTrue(retrained.out().contains("already finished"), retrained.out());
    Map<String, String> before = checksums(run);
    Result other = cli("train", "--features", feat.toString(), "--labels", labels.toString(),
        "--model", "abmil", "--out", run.toString(), "--epochs", "3", "--workers", "1");
    assertEquals(1, other.code(), other.out());
    assertTrue(other.err().contains("a run with other settings")
        && other.err().contains("max_epochs"), other.err());
    assertEquals(before, checksums(run));
    assertFalse(Files.exists(run.resolve(OutputLock.FILE)));

    // A stage that fails once it holds the output lets go of it, and leaves the folder as it was.
    Path badLabels = tmp.resolve("bad-labels.csv");
    Files.writeString(badLabels, Files.readString(labels) + "slide_999,tumor,p9,train\n");
    Result failed = cli("train", "--features", feat.toString(), "--labels", badLabels.toString(),
        "--model", "abmil", "--out", run.toString(), "--epochs", "2", "--workers", "1");
    assertEquals(1, failed.code(), failed.out());
    assertTrue(failed.err().contains("slide_999"), failed.err());
    assertEquals(before, checksums(run));
    Path fresh = tmp.resolve("never-made");
    Result failedFresh = cli("train", "--features", feat.toString(), "--labels",
        badLabels.toString(), "--model", "abmil", "--out", fresh.toString());
    assertEquals(1, failedFresh.code(), failedFresh.out());
    assertFalse(Files.exists(fresh), "a failed run leaves no folder it made");
    Result after = cli(train);
    assertEquals(0, after.code(), after.err());
  }
}
