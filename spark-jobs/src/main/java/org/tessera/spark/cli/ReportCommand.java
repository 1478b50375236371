package org.tessera.spark.cli;

import java.util.concurrent.Callable;
import org.tessera.spark.report.ReportStage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tessera report}: options for {@link ReportStage}. */
@Command(name = "report", mixinStandardHelpOptions = true,
    description = "Write RUN/report/index.html with PNG figures: headline metrics with "
        + "confidence intervals, ROC and PR curves, loss and AUC per epoch, the confusion "
        + "matrix, attention heatmaps over slide thumbnails with their most attended tiles, and "
        + "the run's configuration and provenance. Needs RUN/metrics.json: run tessera "
        + "evaluate --run RUN first.")
final class ReportCommand implements Callable<Integer> {

  @Option(names = "--run", required = true, paramLabel = "RUN",
      description = "Run folder made by tessera train (--out).")
  String run;

  @Option(names = "--heatmaps", paramLabel = "N",
      description = "Slides drawn with their attention, from the test split when it has "
          + "slides: the surest positives and about a third negatives "
          + "(default: ${DEFAULT-VALUE}).")
  int heatmaps = 6;

  @Option(names = "--top-tiles", paramLabel = "N",
      description = "Most attended tiles shown per drawn slide (default: ${DEFAULT-VALUE}).")
  int topTiles = 4;

  @Option(names = "--cache-dir", paramLabel = "DIR",
      description = "Local folder for copies of slides on non-local file systems "
          + "(default: <java.io.tmpdir>/tessera-slide-cache).")
  String cacheDir = RunOptions.DEFAULT_CACHE_DIR;

  @Mixin
  ReaderOption reader;

  @Mixin
  SummaryOption summaryJson;

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    ReportStage.Summary summary = ReportStage.run(spark.session("tessera report"),
        new ReportStage.Settings(run, heatmaps, topTiles, cacheDir, reader.kind()), System.out);
    summaryJson.report(summary.describe(), summary);
    return 0;
  }
}
