package org.tessera.spark;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import org.tessera.spark.io.TesseraKryo;
import org.tessera.spark.tile.TileSettings;
import org.tessera.spark.tile.TileStage;
import org.tessera.wsi.synth.CohortParams;
import org.tessera.wsi.synth.SynthCohort;
import org.tessera.wsi.tiling.TilingParams;
import org.tessera.wsi.tissue.TissueParams;

/** Shared fixtures: one local[2] session per test class, one small synthetic cohort per JVM. */
public final class SparkTestSupport {
  private static Path cohort;

  private SparkTestSupport() {}

  public static SparkSession localSession(String name) {
    return localBuilder(name).getOrCreate();
  }

  /**
   * local[2] with the serializer the stages' own sessions get ({@link TesseraKryo#configure}),
   * for fixtures that add settings of their own.
   */
  public static SparkSession.Builder localBuilder(String name) {
    SparkConf conf = new SparkConf(false)
        .setMaster("local[2]")
        .setAppName(name)
        .set("spark.ui.enabled", "false")
        .set("spark.sql.shuffle.partitions", "4")
        .set("spark.ui.showConsoleProgress", "false");
    TesseraKryo.configure(conf);
    return SparkSession.builder().config(conf);
  }

  /**
   * Six 1536x1152 slides (three Aperio-flavoured with MPP 0.5, three generic TIFF without MPP),
   * generated once per test JVM under target/tmp.
   */
  public static synchronized Path cohort() throws IOException {
    if (cohort == null) {
      Path dir = Path.of(System.getProperty("java.io.tmpdir"), "test-cohort-6x1536");
      if (!Files.exists(dir.resolve(SynthCohort.MASKS_DIR).resolve(SynthCohort.MASKS_JSON))) {
        new SynthCohort(CohortParams.defaults().withSlides(6).withSize(1536, 1152).withSeed(11)
            .withThreads(2)).generate(dir);
      }
      cohort = dir;
    }
    return cohort;
  }

  /**
   * Labels for {@link #cohort()} with given splits, one slide of each class in train, val and
   * test (patients are the slides, so the splits are legal), written to {@code dir/labels.csv}.
   */
  public static Path givenSplitLabels(Path dir) throws IOException {
    Path labels = dir.resolve("labels.csv");
    Files.writeString(labels, """
        slide_id,label,patient_id,split
        slide_000,normal,p0,train
        slide_002,tumor,p2,train
        slide_001,normal,p1,val
        slide_004,tumor,p4,val
        slide_003,normal,p3,test
        slide_005,tumor,p5,test
        """);
    return labels;
  }

  /**
   * Tiles {@code slides} into {@code dir/tiles} as the stage tests do: 256 px at 0.5 µm/px with
   * an assumed MPP of 0.5 (so the generic TIFFs get tiles too), pixels stored raw.
   */
  public static Path tile(SparkSession spark, Path slides, Path dir) throws IOException {
    Path tiles = dir.resolve("tiles");
    TileStage.run(spark, slides.toString(), tiles.toString(), new TileSettings(
        new TilingParams(0.5, 256, 256, 0.5, 16, 0.5, TissueParams.defaults()), false, "raw",
        90, 1000, false, dir.resolve("cache").toString()),
        new PrintStream(OutputStream.nullOutputStream()));
    return tiles;
  }

  /** The JVM options this test JVM runs with (Spark's module opens), for child JVMs. */
  public static List<String> jvmOptions() {
    return java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
        .filter(a -> a.startsWith("--add-opens") || a.startsWith("-Djdk.reflect")
            || a.startsWith("-Djava.io.tmpdir") || a.startsWith("-Djna.tmpdir"))
        .toList();
  }
}
