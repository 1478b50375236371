package org.tessera.spark.cli;

import java.util.concurrent.Callable;
import org.tessera.spark.eval.EvaluateSettings;
import org.tessera.spark.eval.EvaluateStage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "evaluate", mixinStandardHelpOptions = true,
    description = "Measure a finished train run: slide-level metrics with bootstrap 95%% "
        + "intervals per split and fold, cross-validation summaries, and lesion localisation by "
        + "attention where ground-truth masks exist. Writes RUN/metrics.json.")
final class EvaluateCommand implements Callable<Integer> {

  @Option(names = "--run", required = true, paramLabel = "RUN",
      description = "Run folder written by tessera train (its --out).")
  String run;

  @Option(names = "--threshold", paramLabel = "T",
      description = "Binary tasks: youden or max-f1 (chosen on each fold's val predictions, on "
          + "train when val has not both classes) or a fixed probability (default: "
          + "${DEFAULT-VALUE}).")
  String threshold = "youden";

  @Option(names = "--bootstrap", paramLabel = "N",
      description = "Bootstrap replicates for the 95%% intervals, 0 for none (default: "
          + "${DEFAULT-VALUE}).")
  int bootstrap = 1000;

  @Option(names = "--seed", paramLabel = "S",
      description = "Seed of the bootstrap (default: the run's training seed).")
  Long seed;

  @Option(names = "--masks", paramLabel = "DIR",
      description = "Lesion masks: masks.json and <slide_id>.png as tessera synth writes them "
          + "(default: masks/ beside the slides' folder or the labels file, when present).")
  String masks = "";

  @Option(names = "--tile-size", paramLabel = "PX",
      description = "Tile edge in level-0 pixels for localisation (default: from the tile "
          + "stage's output the features came from; needed for imported features).")
  int tileSize;

  @Mixin
  SummaryOption summaryJson;

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    EvaluateSettings settings = new EvaluateSettings(run, threshold, bootstrap, seed, masks,
        tileSize);
    EvaluateStage.Summary summary = EvaluateStage.run(spark.session("tessera evaluate"),
        settings, System.out);
    summaryJson.report(summary.describe(), summary);
    return 0;
  }
}
