package org.tessera.spark.tile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tessera.spark.SparkTestSupport;
import org.tessera.wsi.synth.SynthCohort;

/** Slides on a non-local file system are copied to the executor cache and tile as local ones do. */
class RemoteSlidesTest {
  static SparkSession spark;

  @TempDir
  Path tmp;

  @BeforeAll
  static void start() {
    spark = SparkTestSupport.localSession("RemoteSlidesTest");
    spark.sparkContext().hadoopConfiguration().set("fs.remote.impl",
        RemoteFileSystem.class.getName());
    spark.sparkContext().hadoopConfiguration().setBoolean("fs.remote.impl.disable.cache", true);
    TileStageTest.spark = spark;
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  @Test
  void remoteSlidesAreCachedLocallyAndGiveTheSameTiles() throws Exception {
    Path slides = SparkTestSupport.cohort().resolve(SynthCohort.SLIDES_DIR);
    Path cache = tmp.resolve("cache");
    TileSettings local = TileStageTest.settings(true, false, false);
    TileSettings remote = new TileSettings(local.tiling(), false, "png", 90, 7, false,
        cache.toString());

    Path localOut = tmp.resolve("local");
    TileStageTest.run(slides, localOut, local);
    String remoteOut = RemoteFileSystem.SCHEME + "://" + tmp.resolve("remote");
    TileStage.Summary s = TileStage.run(spark, RemoteFileSystem.SCHEME + "://" + slides,
        remoteOut, remote, new PrintStream(new ByteArrayOutputStream(), true,
            StandardCharsets.UTF_8));

    assertEquals(6, s.ok());
    assertEquals(TileStageTest.tileRows(localOut), TileStageTest.tileRows(tmp.resolve("remote")));
    List<Row> paths = spark.read().parquet(remoteOut + "/slides").select("path").collectAsList();
    for (Row r : paths) {
      assertTrue(r.getString(0).startsWith(RemoteFileSystem.SCHEME + ":"), r.getString(0));
    }
    try (Stream<Path> cached = Files.list(cache)) {
      assertEquals(6, cached.filter(p -> !p.toString().endsWith(".part")).count(),
          "one cached copy per slide");
    }
  }
}
