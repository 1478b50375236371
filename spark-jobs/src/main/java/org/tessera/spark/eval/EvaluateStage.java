package org.tessera.spark.eval;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.tessera.core.eval.Estimate;
import org.tessera.core.eval.Evaluation;
import org.tessera.core.eval.SplitMetrics;
import org.tessera.spark.io.AtomicFiles;
import org.tessera.spark.io.Json;
import org.tessera.spark.io.OutputLock;

/**
 * The evaluate stage. Reads a finished train run's predictions, measures every split of every
 * fold with {@link Evaluation} (bootstrap intervals seeded, so a re-run writes the same bytes),
 * summarises folds when there are several, measures lesion localisation by attention where
 * ground-truth masks exist ({@link Localisation}), and writes {@code RUN/metrics.json}
 * atomically.
 *
 * <p>Binary tasks are decided at a threshold on the positive (second) class's probability: a
 * fixed one, or one chosen ({@code youden}, {@code max-f1}) on each fold's validation
 * predictions and applied to all of that fold's splits. A fold whose validation slides are
 * missing or of one class chooses on its training slides instead, and {@code chosen_on} says
 * so; without both classes there either, 0.5 is used ({@code chosen_on: default}).
 */
public final class EvaluateStage {
  public static final String METRICS = "metrics.json";

  private EvaluateStage() {}

  /** How a fold's binary threshold was set. */
  @JsonPropertyOrder({"method", "value", "chosen_on"})
  public record Threshold(String method, double value,
      @JsonProperty("chosen_on") String chosenOn) {}

  /** One fold's entry: its threshold (binary only) and the metrics of each split it has. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonPropertyOrder({"name", "threshold", "splits"})
  public record FoldMetrics(String name, Threshold threshold, Map<String, SplitMetrics> splits) {}

  /** The whole of {@code metrics.json}. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonPropertyOrder({"run", "classes", "positive_class", "bootstrap", "seed", "folds",
      "cross_validation", "localisation"})
  public record MetricsFile(String run, List<String> classes,
      @JsonProperty("positive_class") String positiveClass, int bootstrap, long seed,
      List<FoldMetrics> folds,
      @JsonProperty("cross_validation")
      Map<String, Map<String, org.tessera.core.eval.Summary>> crossValidation,
      Localisation.Result localisation) {}

  /** The evaluation's outcome. */
  public record Summary(String run, String metrics, int folds, double testAuc,
      double localisationAuc, double seconds) {
    public String describe() {
      return "evaluate: " + folds + (folds == 1 ? " fold" : " folds") + String.format(
          ", %.1f s, metrics %s", seconds, metrics);
    }
  }

  public static Summary run(SparkSession spark, EvaluateSettings s, PrintStream console)
      throws IOException {
    long t0 = System.nanoTime();
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    Path runDir = new Path(s.run());
    runDir = runDir.getFileSystem(conf).makeQualified(runDir);
    TrainedRun run = TrainedRun.read(conf, runDir);
    try (OutputLock lock = OutputLock.acquire(conf, runDir, "evaluate", console)) {
      return locked(spark, s, console, t0, conf, runDir, run);
    }
  }

  /** The evaluation once the run folder is locked. */
  private static Summary locked(SparkSession spark, EvaluateSettings s, PrintStream console,
      long t0, Configuration conf, Path runDir, TrainedRun run) throws IOException {
    List<String> classes = run.classes();
    boolean binary = classes.size() == 2;
    long seed = s.seed() != null ? s.seed() : run.seed();

    Map<String, Predictions> predictions = new LinkedHashMap<>();
    List<FoldMetrics> folds = new ArrayList<>();
    for (TrainedRun.Fold fold : run.folds()) {
      Predictions p = Predictions.read(spark, fold.predictions(), classes);
      predictions.put(fold.name(), p);
      Threshold threshold = binary ? threshold(p, s.threshold()) : null;
      double t = threshold == null ? Double.NaN : threshold.value();
      Map<String, SplitMetrics> splits = new LinkedHashMap<>();
      for (String split : Predictions.SPLITS) {
        Predictions.Part part = p.part(split);
        if (part.size() > 0) {
          splits.put(split, Evaluation.evaluate(part.probabilities(), part.labels(), classes, t,
              s.bootstrap(), seed));
        }
      }
      folds.add(new FoldMetrics(fold.name(), threshold, splits));
    }
    Map<String, Map<String, org.tessera.core.eval.Summary>> cv = crossValidation(folds);
    Optional<Localisation.Result> loc = Localisation.evaluate(spark, run, predictions, s,
        console);

    MetricsFile file = new MetricsFile(runDir.toString(), classes,
        binary ? classes.get(1) : null, s.bootstrap(), seed, folds, cv, loc.orElse(null));
    Path out = new Path(runDir, METRICS);
    byte[] bytes = Json.bytes(file);
    AtomicFiles.writeStream(conf, out, o -> o.write(bytes));

    printTable(console, file);
    loc.ifPresent(l -> console.printf("localisation: AUC %s over %d tiles (%d lesion) of %d %s"
        + " slides with lesion; masks %s%n", Double.isNaN(l.auc()) ? "n/a"
        : String.format("%.4f", l.auc()), l.tiles(), l.lesionTiles(),
        l.slides(), l.split(), l.masks()));
    console.println("metrics: " + out);
    FoldMetrics first = folds.get(0);
    double testAuc = cv != null && cv.containsKey("test") ? cv.get("test").get("auc").mean()
        : first.splits().containsKey("test")
        ? first.splits().get("test").metrics().get("auc").value() : Double.NaN;
    return new Summary(runDir.toString(), out.toString(), folds.size(), testAuc,
        loc.map(Localisation.Result::auc).orElse(Double.NaN), (System.nanoTime() - t0) / 1e9);
  }

  /** A binary fold's threshold; see the class comment. */
  static Threshold threshold(Predictions p, String option) {
    double fixed = EvaluateSettings.fixedThreshold(option);
    if (!Double.isNaN(fixed)) {
      return new Threshold("fixed", fixed, "given");
    }
    for (String split : List.of("val", "train")) {
      Predictions.Part part = p.part(split);
      if (part.size() > 0) {
        double t = Evaluation.chooseThreshold(part.probabilities(), part.labels(), option);
        if (!Double.isNaN(t)) {
          return new Threshold(option, t, split);
        }
      }
    }
    return new Threshold(option, 0.5, "default");
  }

  /** Mean and spread over folds of each split that at least two folds have; null for one fold. */
  private static Map<String, Map<String, org.tessera.core.eval.Summary>> crossValidation(
      List<FoldMetrics> folds) {
    if (folds.size() < 2) {
      return null;
    }
    Map<String, Map<String, org.tessera.core.eval.Summary>> out = new LinkedHashMap<>();
    for (String split : List.of("test", "val")) {
      List<SplitMetrics> per = new ArrayList<>();
      for (FoldMetrics f : folds) {
        if (f.splits().containsKey(split)) {
          per.add(f.splits().get(split));
        }
      }
      if (per.size() >= 2) {
        out.put(split, Evaluation.crossValidation(per));
      }
    }
    return out;
  }

  private static final List<String> HEADLINE = List.of("auc", "accuracy", "sensitivity",
      "specificity", "f1");

  private static void printTable(PrintStream console, MetricsFile file) {
    console.printf("evaluate: %s, classes %s, bootstrap %d (seed %d), 95%% intervals%n",
        file.run(), String.join("/", file.classes()), file.bootstrap(), file.seed());
    for (FoldMetrics f : file.folds()) {
      Threshold t = f.threshold();
      console.println(f.name() + (t == null ? "" : String.format(
          ": threshold %.4f (%s, chosen on %s)", t.value(), t.method(), t.chosenOn())));
      StringBuilder head = new StringBuilder(String.format("  %-5s %4s", "split", "n"));
      HEADLINE.forEach(m -> head.append(String.format("  %-20s", m)));
      console.println(head.toString().stripTrailing());
      for (Map.Entry<String, SplitMetrics> e : f.splits().entrySet()) {
        StringBuilder line = new StringBuilder(String.format("  %-5s %4d", e.getKey(),
            e.getValue().n()));
        for (String m : HEADLINE) {
          line.append(String.format("  %-20s", cell(e.getValue().metrics().get(m))));
        }
        console.println(line.toString().stripTrailing());
      }
    }
    if (file.crossValidation() != null) {
      file.crossValidation().forEach((split, summary) -> {
        StringBuilder line = new StringBuilder("cross-validation " + split
            + ", mean (sd) over folds:");
        for (String m : HEADLINE) {
          org.tessera.core.eval.Summary v = summary.get(m);
          line.append(String.format("  %s %s (%s)", m, fmt(v.mean()), fmt(v.sd())));
        }
        console.println(line);
      });
    }
  }

  private static String cell(Estimate e) {
    return fmt(e.value()) + (Double.isNaN(e.ciLow()) ? ""
        : " [" + fmt(e.ciLow()) + ", " + fmt(e.ciHigh()) + "]");
  }

  private static String fmt(double v) {
    return Double.isNaN(v) ? "n/a" : String.format("%.3f", v);
  }
}
