package org.tessera.spark.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import org.tessera.core.nn.mil.MilModel;
import org.tessera.core.optim.OptimizerConfig;
import org.tessera.core.train.TrainLoop;
import org.tessera.spark.embed.EmbedSettings;
import org.tessera.spark.embed.EmbedStage;
import org.tessera.spark.eval.EvaluateSettings;
import org.tessera.spark.eval.EvaluateStage;
import org.tessera.spark.io.Inspector;
import org.tessera.spark.report.ReportStage;
import org.tessera.spark.tile.TileSettings;
import org.tessera.spark.tile.TileStage;
import org.tessera.spark.train.HeadOptions;
import org.tessera.spark.train.TrainSettings;
import org.tessera.spark.train.TrainStage;
import org.tessera.wsi.synth.CohortParams;
import org.tessera.wsi.synth.SynthCohort;
import org.tessera.wsi.tiling.TilingParams;
import org.tessera.wsi.tissue.TissueParams;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {"Run the pipeline end to end on a synthetic cohort, on Spark local mode by "
        + "default: synth -> tile -> embed -> train -> evaluate -> report, then a summary.",
        "Re-running skips the stages (and slides) that are already done."})
final class DemoCommand implements Callable<Integer> {
  @Option(names = "--out", paramLabel = "DIR", description = "Output folder (default: ${DEFAULT-VALUE}).")
  Path out = Path.of("tessera-demo");

  @Option(names = "--slides", paramLabel = "N", description = "Slides in the cohort (default: ${DEFAULT-VALUE}).")
  int slides = 32;

  @Option(names = "--width", paramLabel = "PX", description = "Level-0 width of each slide (default: ${DEFAULT-VALUE}).")
  int width = 3072;

  @Option(names = "--height", paramLabel = "PX", description = "Level-0 height of each slide (default: ${DEFAULT-VALUE}).")
  int height = 2304;

  @Option(names = "--model", paramLabel = "NAME", description = "MIL head to train (default: ${DEFAULT-VALUE}).")
  String model = "gated-abmil";

  @Option(names = "--workers", paramLabel = "K", description = "Data-parallel training width (default: ${DEFAULT-VALUE}).")
  int workers = 2;

  @Option(names = "--epochs", paramLabel = "N", description = "Training epochs at most (default: ${DEFAULT-VALUE}).")
  int epochs = 40;

  @Option(names = "--lesion-contrast", paramLabel = "C",
      description = "How far lesion colour departs from normal tissue, 0..1 (default: "
          + "${DEFAULT-VALUE}); see tessera synth.")
  double lesionContrast = CohortParams.defaults().lesionContrast();

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
    Path run = out.resolve("run");
    CohortParams params = CohortParams.defaults().withSlides(slides).withSeed(seed)
        .withSize(width, height).withLesionContrast(lesionContrast);

    // Every stage's settings first, so a bad option stops the demo before it makes anything.
    if (!MilModel.MODELS.contains(model)) {
      throw new IllegalArgumentException("--model " + model + " is not one of "
          + String.join(", ", MilModel.MODELS));
    }
    // Half the synthetic slides are generic TIFFs, which carry no pixel size: state it.
    TilingParams tiling = new TilingParams(0.5, 256, 256, 0.5, 16, params.mpp(),
        TissueParams.defaults());
    TileSettings settings = new TileSettings(tiling, false, "jpeg", 90, 2000, false,
        RunOptions.DEFAULT_CACHE_DIR);
    EmbedSettings embed = new EmbedSettings("small-cnn", "", "", true, seed, 0, 32, "none", "",
        4000, false, settings.cacheDir());
    TrainSettings train = new TrainSettings(features.toString(),
        cohort.resolve(SynthCohort.LABELS_CSV).toString(), run.toString(), List.of(), workers,
        seed, 0, 0.2, 8, "small-cnn", HeadOptions.of(model),
        OptimizerConfig.defaults("adam").withLearningRate(2e-4).withWeightDecay(1e-5),
        new TrainLoop.Settings(epochs, 10, 0), false);

    System.out.println("== 1/6 synth: " + slides + " synthetic slides -> " + cohort);
    if (Files.exists(cohort.resolve(SynthCohort.MASKS_DIR).resolve(SynthCohort.MASKS_JSON))) {
      System.out.println("   already there, skipped");
    } else {
      new SynthCohort(params).generate(cohort);
    }

    System.out.println("== 2/6 tile: tissue detection and a 256 px grid at 0.5 um/px -> " + tiles);
    SparkSession session = spark.session("tessera demo");
    TileStage.Summary summary = TileStage.run(session,
        cohort.resolve(SynthCohort.SLIDES_DIR).toString(), tiles.toString(), settings, System.out);
    System.out.println(summary.describe());

    System.out.println("== 3/6 embed: small-cnn (seeded random weights) features of every tile -> "
        + features);
    EmbedStage.Summary embedded = EmbedStage.run(session, tiles.toString(), features.toString(),
        embed, System.out);
    System.out.println(embedded.describe());

    System.out.println("== 4/6 train: " + model + " on " + workers + " workers -> " + run);
    TrainStage.Summary trained = TrainStage.run(session, train, System.out);
    System.out.println(trained.describe());

    System.out.println("== 5/6 evaluate: slide metrics with bootstrap intervals, localisation "
        + "against the lesion masks -> " + run.resolve(EvaluateStage.METRICS));
    Path metrics = run.resolve(EvaluateStage.METRICS);
    Path trainedAt = run.resolve(TrainStage.RESULT); // written once, when the split finished
    if (newer(metrics, trainedAt)) {
      System.out.println("   already there, skipped");
    } else {
      EvaluateStage.Summary evaluated = EvaluateStage.run(session,
          new EvaluateSettings(run.toString(), "youden", 1000, null, "", 0), System.out);
      System.out.println(evaluated.describe());
    }

    Path page = run.resolve(ReportStage.REPORT_DIR).resolve(ReportStage.INDEX);
    System.out.println("== 6/6 report: figures, heatmaps and provenance -> " + page);
    if (newer(page, metrics)) {
      System.out.println("   already there, skipped");
    } else {
      ReportStage.Summary reported = ReportStage.run(session,
          new ReportStage.Settings(run.toString(), 6, 4, settings.cacheDir()), System.out);
      System.out.println(reported.describe());
    }

    var report = Inspector.inspect(session, tiles.toString());
    long tileRows = report.path("tables").path("tiles").path("rows").asLong();
    long slideRows = report.path("tables").path("slides").path("rows").asLong();
    System.out.printf("%n== demo done in %.0f s%n", (System.nanoTime() - t0) / 1e9);
    System.out.printf("   %d slides, %d tiles in the tile index%n", slideRows, tileRows);
    System.out.println("   tile index: " + tiles.resolve("tiles").toAbsolutePath());
    System.out.println("   features:   " + features.resolve("features").toAbsolutePath()
        + " (" + embedded.encoder().featureDim() + "-d)");
    System.out.println("   QC images:  " + tiles.resolve("qc").toAbsolutePath());
    System.out.println("   trained:    " + run.toAbsolutePath() + " (history.jsonl, "
        + "predictions.parquet, attention.parquet)");
    System.out.println("   metrics:    " + metrics.toAbsolutePath());
    System.out.println("   report:     " + page.toAbsolutePath());
    System.out.println("   inspect:    bin/tessera inspect " + tiles);
    return summary.failed() == 0 && embedded.failed() == 0 ? 0 : 1;
  }

  /** Whether {@code file} exists and was written after {@code input}. */
  private static boolean newer(Path file, Path input) throws IOException {
    return Files.exists(file) && Files.exists(input)
        && Files.getLastModifiedTime(file).compareTo(Files.getLastModifiedTime(input)) >= 0;
  }
}
