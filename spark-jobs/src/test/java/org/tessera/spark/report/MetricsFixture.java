package org.tessera.spark.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.tessera.core.eval.Evaluation;
import org.tessera.core.eval.SplitMetrics;
import org.tessera.spark.SparkTestSupport;
import org.tessera.spark.train.TrainStage;

/**
 * Writes {@code RUN/metrics.json} in the layout {@code tessera evaluate} writes, computed with
 * {@link Evaluation} from the run's predictions: a Youden threshold chosen on validation, train,
 * val and test metrics per fold, the mean and sd over folds when there are two or more. NaN and
 * infinities become JSON null, as in the real file. The report's tests (and a try on a real run,
 * through {@link #main}) need the file while the evaluate stage is not on this branch.
 */
final class MetricsFixture {
  static final int BOOTSTRAP = 200;
  static final long SEED = 42;
  private static final ObjectMapper JSON = new ObjectMapper();

  private MetricsFixture() {}

  /** {@code MetricsFixture RUN}: writes {@code RUN/metrics.json} for a finished train run. */
  public static void main(String[] args) throws IOException {
    SparkSession spark = SparkTestSupport.localSession("metrics-fixture");
    try {
      write(spark, Path.of(args[0]));
    } finally {
      spark.stop();
    }
  }

  static JsonNode write(SparkSession spark, Path run) throws IOException {
    JsonNode config = JSON.readTree(run.resolve(TrainStage.CONFIG).toFile());
    List<String> classes = new ArrayList<>();
    config.path("classes").forEach(c -> classes.add(c.asText()));
    Map<String, Path> parts = new LinkedHashMap<>();
    if (Files.exists(run.resolve(TrainStage.PREDICTIONS))) {
      parts.put(config.path("splits").path(0).path("name").asText("holdout"), run);
    } else {
      for (JsonNode sp : config.path("splits")) {
        parts.put(sp.path("name").asText(), run.resolve(sp.path("name").asText()));
      }
    }
    ObjectNode out = JSON.createObjectNode();
    out.put("run", run.toString());
    out.set("classes", JSON.valueToTree(classes));
    boolean binary = classes.size() == 2;
    if (binary) {
      out.put("positive_class", classes.get(1));
    }
    out.put("bootstrap", BOOTSTRAP);
    out.put("seed", SEED);
    ArrayNode folds = out.putArray("folds");
    List<SplitMetrics> tests = new ArrayList<>();
    for (Map.Entry<String, Path> part : parts.entrySet()) {
      Map<String, List<Row>> bySplit = new LinkedHashMap<>();
      for (Row r : spark.read().parquet(part.getValue().resolve(TrainStage.PREDICTIONS)
          .toString()).orderBy("slide_id").collectAsList()) {
        bySplit.computeIfAbsent(r.getAs("split"), k -> new ArrayList<>()).add(r);
      }
      ObjectNode fold = folds.addObject();
      fold.put("name", part.getKey());
      double threshold = 0.5;
      if (binary) {
        List<Row> val = bySplit.getOrDefault("val", List.of());
        double chosen = val.isEmpty() ? Double.NaN
            : Evaluation.chooseThreshold(probabilities(val, classes), labels(val), "youden");
        threshold = Double.isNaN(chosen) ? 0.5 : chosen;
        ObjectNode t = fold.putObject("threshold");
        t.put("method", Double.isNaN(chosen) ? "fixed" : "youden");
        t.put("value", threshold);
        t.put("chosen_on", "val");
      }
      ObjectNode splits = fold.putObject("splits");
      for (String split : List.of("train", "val", "test")) {
        List<Row> rows = bySplit.get(split);
        if (rows == null || rows.isEmpty()) {
          continue;
        }
        SplitMetrics sm = Evaluation.evaluate(probabilities(rows, classes), labels(rows),
            classes, threshold, BOOTSTRAP, SEED);
        splits.set(split, JSON.valueToTree(sm));
        if (split.equals("test")) {
          tests.add(sm);
        }
      }
    }
    if (parts.size() >= 2 && tests.size() == parts.size()) {
      out.putObject("cross_validation").set("test",
          JSON.valueToTree(Evaluation.crossValidation(tests)));
    }
    JsonNode clean = nullNonFinite(out);
    Files.writeString(run.resolve(ReportStage.METRICS),
        JSON.writerWithDefaultPrettyPrinter().writeValueAsString(clean));
    return clean;
  }

  private static float[][] probabilities(List<Row> rows, List<String> classes) {
    float[][] p = new float[rows.size()][classes.size()];
    for (int i = 0; i < rows.size(); i++) {
      for (int c = 0; c < classes.size(); c++) {
        p[i][c] = (float) rows.get(i).<Double>getAs("prob_"
            + classes.get(c).replaceAll("[^A-Za-z0-9_]", "_")).doubleValue();
      }
    }
    return p;
  }

  private static int[] labels(List<Row> rows) {
    return rows.stream().mapToInt(r -> r.<Integer>getAs("label_index")).toArray();
  }

  /** The tree with every NaN or infinite number replaced by JSON null. */
  private static JsonNode nullNonFinite(JsonNode n) {
    if (n.isObject()) {
      ObjectNode o = (ObjectNode) n;
      Iterator<Map.Entry<String, JsonNode>> it = o.fields();
      List<String> nulls = new ArrayList<>();
      while (it.hasNext()) {
        Map.Entry<String, JsonNode> e = it.next();
        if (isNonFinite(e.getValue())) {
          nulls.add(e.getKey());
        } else {
          nullNonFinite(e.getValue());
        }
      }
      nulls.forEach(o::putNull);
    } else if (n.isArray()) {
      ArrayNode a = (ArrayNode) n;
      for (int i = 0; i < a.size(); i++) {
        if (isNonFinite(a.get(i))) {
          a.set(i, a.nullNode());
        } else {
          nullNonFinite(a.get(i));
        }
      }
    }
    return n;
  }

  private static boolean isNonFinite(JsonNode n) {
    return n.isNumber() && (n.isDouble() || n.isFloat()) && !Double.isFinite(n.doubleValue());
  }
}
