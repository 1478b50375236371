package org.tessera.spark;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.tessera.wsi.synth.CohortParams;
import org.tessera.wsi.synth.SynthCohort;

/** Shared fixtures: one local[2] session per test class, one small synthetic cohort per JVM. */
public final class SparkTestSupport {
  private static Path cohort;

  private SparkTestSupport() {}

  public static SparkSession localSession(String name) {
    return SparkSession.builder()
        .master("local[2]")
        .appName(name)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate();
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

  /** The JVM options this test JVM runs with (Spark's module opens), for child JVMs. */
  public static List<String> jvmOptions() {
    return java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
        .filter(a -> a.startsWith("--add-opens") || a.startsWith("-Djdk.reflect")
            || a.startsWith("-Djava.io.tmpdir") || a.startsWith("-Djna.tmpdir"))
        .toList();
  }
}
