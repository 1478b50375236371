package org.tessera.spark.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import org.tessera.spark.embed.EmbedSettings;
import org.tessera.spark.embed.EmbedStage;
import org.tessera.spark.io.Inspector;
import org.tessera.spark.tile.TileSettings;
import org.tessera.spark.tile.TileStage;
import org.tessera.wsi.synth.CohortParams;
import org.tessera.wsi.synth.SynthCohort;
import org.tessera.wsi.tiling.TilingParams;
import org.tessera.wsi.tissue.TissueParams;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {"Run the pipeline end to end on a synthetic cohort, on Spark local mode by "
        + "default: synth -> tile -> embed, then a summary.",
        "Re-running skips the stages (and slides) that are already done."})
final class DemoCommand implements Callable<Integer> {
  @Option(names = "--out", paramLabel = "DIR", description = "Output folder (default: ${DEFAULT-VALUE}).")
  Path out = Path.of("tessera-demo");

  @Option(names = "--slides", paramLabel = "N", description = "Slides in the cohort (default: ${DEFAULT-VALUE}).")
  int slides = CohortParams.defaults().slides();

  @Option(names = "--seed", paramLabel = "S", description = "Cohort seed (default: ${DEFAULT-VALUE}).")
  long seed = CohortParams.defaults().seed();

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    long t0 = System.nanoTime();
    Path cohort = out.resolve("cohort");
    Path tiles = out.resolve("tiles");
    Path features = out.resolve("features");
    CohortParams params = CohortParams.defaults().withSlides(slides).withSeed(seed);

    System.out.println("== 1/3 synth: " + slides + " synthetic slides -> " + cohort);
    if (Files.exists(cohort.resolve(SynthCohort.MASKS_DIR).resolve(SynthCohort.MASKS_JSON))) {
      System.out.println("   already there, skipped");
    } else {
      new SynthCohort(params).generate(cohort);
    }

    System.out.println("== 2/3 tile: tissue detection and a 256 px grid at 0.5 um/px -> " + tiles);
    SparkSession session = spark.session("tessera demo");
    // Half the synthetic slides are generic TIFFs, which carry no pixel size: state it.
    TilingParams tiling = new TilingParams(0.5, 256, 256, 0.5, 16, params.mpp(),
        TissueParams.defaults());
    TileSettings settings = new TileSettings(tiling, false, "jpeg", 90, 2000, false,
        RunOptions.DEFAULT_CACHE_DIR);
    TileStage.Summary summary = TileStage.run(session,
        cohort.resolve(SynthCohort.SLIDES_DIR).toString(), tiles.toString(), settings, System.out);
    System.out.println(summary.describe());

    System.out.println("== 3/3 embed: small-cnn (seeded random weights) features of every tile -> "
        + features);
    EmbedSettings embed = new EmbedSettings("small-cnn", "", "", true, seed, 0, 32, "none", "",
        4000, false, settings.cacheDir());
    EmbedStage.Summary embedded = EmbedStage.run(session, tiles.toString(), features.toString(),
        embed, System.out);
    System.out.println(embedded.describe());

    var report = Inspector.inspect(session, tiles.toString());
    long tileRows = report.path("tables").path("tiles").path("rows").asLong();
    long slideRows = report.path("tables").path("slides").path("rows").asLong();
    System.out.printf("%n== demo done in %.0f s%n", (System.nanoTime() - t0) / 1e9);
    System.out.printf("   %d slides, %d tiles in the tile index%n", slideRows, tileRows);
    System.out.println("   tile index: " + tiles.resolve("tiles").toAbsolutePath());
    System.out.println("   features:   " + features.resolve("features").toAbsolutePath()
        + " (" + embedded.encoder().featureDim() + "-d)");
    System.out.println("   QC images:  " + tiles.resolve("qc").toAbsolutePath());
    System.out.println("   inspect:    bin/tessera inspect " + tiles);
    return summary.failed() == 0 && embedded.failed() == 0 ? 0 : 1;
  }
}
