package org.tessera.spark.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.tessera.spark.io.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.tessera.spark.io.TextLines;
import org.tessera.spark.train.TrainStage;

/**
 * What one trained split left in its folder (the run folder itself, or {@code fold-<i>} of a
 * cross-validated run): history and predictions, with its entry of the run's
 * {@code metrics.json}. Attention is not held here: it is as large as the feature bags, so only
 * the slides a report draws are read, later.
 */
final class RunPart {

  /** Undefined metrics (an AUC on one class) are null, or NaN in runs of earlier versions. */
  static final ObjectMapper JSON = Json.MAPPER;

  /** One slide's row of {@code predictions.parquet}; probabilities in class order. */
  record Prediction(String slideId, String split, String label, int labelIndex, String predicted,
      double[] probabilities) {}

  final String name;
  final Path dir;
  final List<JsonNode> history;
  final List<Prediction> predictions;
  /** This split's entry of {@code metrics.json}'s {@code folds} (threshold, splits). */
  final JsonNode metrics;

  private RunPart(String name, Path dir, List<JsonNode> history, List<Prediction> predictions,
      JsonNode metrics) {
    this.name = name;
    this.dir = dir;
    this.history = history;
    this.predictions = predictions;
    this.metrics = metrics;
  }

  static RunPart load(SparkSession spark, Configuration conf, String name, Path dir,
      JsonNode metrics) throws IOException {
    FileSystem fs = dir.getFileSystem(conf);
    Path predFile = new Path(dir, TrainStage.PREDICTIONS);
    if (!fs.exists(predFile)) {
      throw new IllegalArgumentException(dir + " has no " + TrainStage.PREDICTIONS
          + ": the train run has not finished; run tessera train to the end first");
    }
    List<Prediction> predictions = new ArrayList<>();
    var frame = spark.read().parquet(predFile.toString());
    List<Integer> probColumns = new ArrayList<>();
    String[] columns = frame.columns();
    for (int i = 0; i < columns.length; i++) {
      if (columns[i].startsWith("prob_")) {
        probColumns.add(i);
      }
    }
    for (Row r : frame.collectAsList()) {
      double[] p = new double[probColumns.size()];
      for (int c = 0; c < p.length; c++) {
        p[c] = r.getDouble(probColumns.get(c));
      }
      predictions.add(new Prediction(r.getAs("slide_id"), r.getAs("split"), r.getAs("label"),
          r.<Integer>getAs("label_index"), r.getAs("predicted"), p));
    }
    predictions.sort(java.util.Comparator.comparing(Prediction::slideId));
    return new RunPart(name, dir, readLines(fs, new Path(dir, TrainStage.HISTORY)), predictions,
        metrics);
  }

  static JsonNode readJson(FileSystem fs, Path file) throws IOException {
    try (var in = fs.open(file)) {
      return Json.snakeKeys(JSON.readTree(in));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException(file + " is not valid JSON (" + e.getOriginalMessage()
          + "): rewrite it with the command that made it");
    }
  }

  private static List<JsonNode> readLines(FileSystem fs, Path file) throws IOException {
    List<JsonNode> lines = new ArrayList<>();
    for (String line : TextLines.nonBlank(fs, file)) {
      lines.add(Json.snakeKeys(JSON.readTree(line)));
    }
    return lines;
  }

  /** The metrics of one split ({@code test}, {@code val}, {@code train}), or a missing node. */
  JsonNode split(String split) {
    return metrics.path("splits").path(split);
  }

  /** Whether {@code metrics.json} measured the split on at least one slide. */
  boolean hasSplit(String split) {
    return split(split).path("n").asInt(0) > 0;
  }

  /** The split a report leads with: test when it has slides, else validation. */
  String headlineSplit() {
    return !hasSplit("test") && hasSplit("val") ? "val" : "test";
  }

  /** The decision threshold {@code evaluate} chose (binary runs), else NaN. */
  double threshold() {
    return Values.number(metrics.path("threshold").path("value"));
  }
}
