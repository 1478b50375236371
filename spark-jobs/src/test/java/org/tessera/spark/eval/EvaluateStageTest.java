package org.tessera.spark.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import javax.imageio.ImageIO;
import org.apache.commons.io.FileUtils;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tessera.core.eval.Evaluation;
import org.tessera.core.eval.SplitMetrics;
import org.tessera.core.optim.OptimizerConfig;
import org.tessera.core.train.TrainLoop;
import org.tessera.spark.SparkTestSupport;
import org.tessera.spark.io.Json;
import org.tessera.spark.train.HeadOptions;
import org.tessera.spark.train.ToyFeatures;
import org.tessera.spark.train.TrainSettings;
import org.tessera.spark.train.TrainStage;

/**
 * The evaluate stage on real train runs of the toy cohort: every key of metrics.json, numbers
 * equal to {@link Evaluation} on the predictions, thresholds from val applied to test, identical
 * bytes on a re-run, fold summaries, localisation against masks painted from the cohort's known
 * lesion instances, and one-line refusals.
 */
class EvaluateStageTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
  private static final long SEED = 9;
  private static final List<String> CLASSES = List.of("normal", "tumor");

  private static SparkSession spark;
  private static Path cohort;
  /** Trained on the labels' own train/val/test split. */
  private static Path holdout;
  /** Two-fold cross-validation. */
  private static Path folds;

  @BeforeAll
  static void setUp(@TempDir Path dir) throws Exception {
    spark = SparkTestSupport.localSession("evaluate-stage");
    cohort = dir;
    Path feat = ToyFeatures.write(spark, dir, 20, 8, true, 5);
    holdout = dir.resolve("holdout");
    TrainStage.run(spark, train(feat, holdout, 0, 4), QUIET);
    folds = dir.resolve("folds");
    TrainStage.run(spark, train(feat, folds, 2, 3), QUIET);
  }

  @AfterAll
  static void tearDown() {
    spark.stop();
  }

  private static TrainSettings train(Path feat, Path out, int k, int epochs) {
    HeadOptions head = new HeadOptions("gated-abmil", 32, 16, -1, "", null, -1, -1, 0, -1, 0,
        "");
    return new TrainSettings(feat.toString(), cohort.resolve("labels.csv").toString(),
        out.toString(), List.of(), 2, SEED, k, 0.2, 4, "", head,
        OptimizerConfig.defaults("adam").withLearningRate(5e-3),
        new TrainLoop.Settings(epochs, epochs, 0), false);
  }

  private static EvaluateSettings settings(Path run, String threshold, int bootstrap) {
    return new EvaluateSettings(run.toString(), threshold, bootstrap, null, "", 0);
  }

  private static JsonNode metrics(Path run) throws Exception {
    // Jackson's default parser rejects NaN and Infinity tokens, as JSON.parse does.
    return JSON.readTree(run.resolve(EvaluateStage.METRICS).toFile());
  }

  /** A split's predictions as the test reads them, independently of the stage. */
  private record Split(float[][] p, int[] y) {}

  private static Split predictions(Path foldDir, String split) {
    List<Row> rows = new ArrayList<>(spark.read()
        .parquet(foldDir.resolve(TrainStage.PREDICTIONS).toString())
        .where("split = '" + split + "'").orderBy("slide_id")
        .select("label_index", "prob_normal", "prob_tumor").collectAsList());
    float[][] p = new float[rows.size()][];
    int[] y = new int[rows.size()];
    for (int i = 0; i < y.length; i++) {
      y[i] = rows.get(i).getInt(0);
      p[i] = new float[] {(float) rows.get(i).getDouble(1), (float) rows.get(i).getDouble(2)};
    }
    return new Split(p, y);
  }

  @Test
  void metricsFileHasEveryKeyAndAgreesWithEvaluation() throws Exception {
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    EvaluateStage.run(spark, settings(holdout, "youden", 200),
        new PrintStream(console, true, StandardCharsets.UTF_8));
    JsonNode m = metrics(holdout);
    assertEquals(List.of("run", "classes", "positive_class", "bootstrap", "seed", "folds"),
        names(m), "no cross_validation for one fold, no localisation without masks");
    assertTrue(m.get("run").asText().endsWith(holdout.toString()), m.get("run").asText());
    assertEquals("[\"normal\",\"tumor\"]", m.get("classes").toString());
    assertEquals("tumor", m.get("positive_class").asText());
    assertEquals(200, m.get("bootstrap").asInt());
    assertEquals(SEED, m.get("seed").asLong(), "the run's seed by default");

    JsonNode fold = m.get("folds").get(0);
    assertEquals(1, m.get("folds").size());
    assertEquals(List.of("name", "threshold", "splits"), names(fold));
    assertEquals("given", fold.get("name").asText());
    Split val = predictions(holdout, "val");
    double t = Evaluation.chooseThreshold(val.p(), val.y(), "youden");
    assertEquals("youden", fold.at("/threshold/method").asText());
    assertEquals("val", fold.at("/threshold/chosen_on").asText());
    assertEquals(t, fold.at("/threshold/value").asDouble());
    assertEquals(List.of("train", "val", "test"), names(fold.get("splits")));

    for (String name : List.of("train", "val", "test")) {
      Split s = predictions(holdout, name);
      SplitMetrics expected = Evaluation.evaluate(s.p(), s.y(), CLASSES, t, 200, SEED);
      JsonNode got = fold.get("splits").get(name);
      assertEquals(JSON.readTree(Json.bytes(expected)), got, name);
      assertEquals(List.of("n", "metrics", "confusion", "roc", "pr", "per_class"), names(got));
      assertEquals(Evaluation.METRICS, names(got.get("metrics")));
      assertEquals(List.of("value", "ci_low", "ci_high"), names(got.at("/metrics/auc")));
      assertEquals(List.of("x", "y", "thresholds"), names(got.get("roc")));
      assertEquals(List.of("x", "y", "thresholds"), names(got.get("pr")));
      assertEquals(List.of("auc", "sensitivity", "specificity", "precision", "f1", "support"),
          names(got.at("/per_class/tumor")));
    }
    // The val threshold decides the test slides.
    Split test = predictions(holdout, "test");
    int[][] confusion = new int[2][2];
    for (int i = 0; i < test.y().length; i++) {
      confusion[test.y()[i]][test.p()[i][1] >= t ? 1 : 0]++;
    }
    assertEquals(JSON.valueToTree(confusion), fold.at("/splits/test/confusion"));

    String out = console.toString(StandardCharsets.UTF_8);
    assertTrue(out.contains("auc") && out.contains("specificity") && out.contains("test"), out);
    assertTrue(out.contains("metrics: ") && out.contains(EvaluateStage.METRICS), out);
    assertTrue(out.contains("localisation skipped"), out);

    // Same inputs, same bytes.
    byte[] first = Files.readAllBytes(holdout.resolve(EvaluateStage.METRICS));
    EvaluateStage.run(spark, settings(holdout, "youden", 200), QUIET);
    assertArrayEquals(first, Files.readAllBytes(holdout.resolve(EvaluateStage.METRICS)));
  }

  /**
   * Three classes (the toy features relabelled; the metrics only have to be the ones of the
   * predictions): no threshold or positive class, no curves, macro metrics equal to
   * {@link Evaluation}'s, three per-class entries; the report draws such a run (no ROC or PR
   * figures, the slides listed as not drawable since imported features have none).
   */
  @Test
  void threeClassesGetMacroMetricsAndAReport() throws Exception {
    Path dir = Files.createDirectories(cohort.resolve("three"));
    List<String> lines = Files.readAllLines(cohort.resolve("labels.csv"));
    StringBuilder labels = new StringBuilder(lines.get(0)).append('\n');
    String[] names = {"a", "b", "c"};
    for (int i = 1; i < lines.size(); i++) {
      String[] f = lines.get(i).split(",");
      f[1] = names[i % 3];
      labels.append(String.join(",", f)).append('\n');
    }
    Path labelsFile = dir.resolve("labels.csv");
    Files.writeString(labelsFile, labels);
    Path run = dir.resolve("run");
    TrainSettings base = train(cohort.resolve("feat"), run, 0, 2);
    TrainStage.run(spark, new TrainSettings(base.features(), labelsFile.toString(),
        base.out(), base.classes(), base.workers(), base.seed(), base.folds(),
        base.valFraction(), base.bagsPerStep(), base.expectEncoder(), base.head(),
        base.optimizer(), base.loop(), base.overwrite()), QUIET);

    EvaluateStage.run(spark, settings(run, "youden", 50), QUIET);
    JsonNode m = metrics(run);
    assertEquals(List.of("run", "classes", "bootstrap", "seed", "folds"), names(m));
    assertEquals("[\"a\",\"b\",\"c\"]", m.get("classes").toString());
    JsonNode fold = m.get("folds").get(0);
    assertFalse(fold.has("threshold"), fold.toString());
    List<Row> rows = spark.read().parquet(run.resolve(TrainStage.PREDICTIONS).toString())
        .where("split = 'test'").orderBy("slide_id")
        .select("label_index", "prob_a", "prob_b", "prob_c").collectAsList();
    float[][] p = new float[rows.size()][];
    int[] y = new int[rows.size()];
    for (int i = 0; i < y.length; i++) {
      Row r = rows.get(i);
      y[i] = r.getInt(0);
      p[i] = new float[] {(float) r.getDouble(1), (float) r.getDouble(2), (float) r.getDouble(3)};
    }
    SplitMetrics expected = Evaluation.evaluate(p, y, List.of("a", "b", "c"), Double.NaN, 50,
        SEED);
    JsonNode test = fold.at("/splits/test");
    assertEquals(JSON.readTree(Json.bytes(expected)), test);
    assertEquals(List.of("n", "metrics", "confusion", "per_class"), names(test));
    assertEquals(List.of("a", "b", "c"), names(test.get("per_class")));

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    org.tessera.spark.report.ReportStage.Summary report =
        org.tessera.spark.report.ReportStage.run(spark,
            new org.tessera.spark.report.ReportStage.Settings(run.toString(), 2, 1,
                dir.resolve("cache").toString()),
            new PrintStream(out, true, StandardCharsets.UTF_8));
    Path figures = run.resolve("report").resolve("figures");
    assertTrue(Files.exists(run.resolve("report").resolve("index.html")));
    assertTrue(Files.exists(figures.resolve("run-confusion.png")), out.toString());
    assertFalse(Files.exists(figures.resolve("run-roc.png")), "no ROC for three classes");
    assertEquals(0, report.slidesDrawn(), out.toString());
  }

  @Test
  void aFixedThresholdAndNoBootstrapWriteNullsNotNaN() throws Exception {
    Path run = copyRun(holdout, "fixed");
    EvaluateStage.run(spark, new EvaluateSettings(run.toString(), "0.5", 0, 3L, "", 0), QUIET);
    String text = Files.readString(run.resolve(EvaluateStage.METRICS));
    assertFalse(text.contains("NaN") || text.contains("Infinity"), text);
    JsonNode m = metrics(run);
    assertEquals(3, m.get("seed").asLong());
    JsonNode fold = m.get("folds").get(0);
    assertEquals("{\"method\":\"fixed\",\"value\":0.5,\"chosen_on\":\"given\"}",
        fold.get("threshold").toString());
    assertTrue(fold.at("/splits/test/metrics/auc/ci_low").isNull());
    Split test = predictions(run, "test");
    assertEquals(Evaluation.evaluate(test.p(), test.y(), CLASSES, 0.5, 0, 3).metrics()
        .get("f1").value(), fold.at("/splits/test/metrics/f1/value").asDouble());
  }

  @Test
  void foldsAreSummarisedAcrossValidation() throws Exception {
    EvaluateStage.Summary s = EvaluateStage.run(spark, settings(folds, "max-f1", 100), QUIET);
    assertEquals(2, s.folds());
    JsonNode m = metrics(folds);
    assertEquals(List.of("run", "classes", "positive_class", "bootstrap", "seed", "folds",
        "cross_validation"), names(m));
    List<SplitMetrics> tests = new ArrayList<>();
    for (int f = 0; f < 2; f++) {
      JsonNode fold = m.get("folds").get(f);
      assertEquals("fold-" + f, fold.get("name").asText());
      Path dir = folds.resolve("fold-" + f);
      Split val = predictions(dir, "val");
      double t = Evaluation.chooseThreshold(val.p(), val.y(), "max-f1");
      String on = "val";
      if (Double.isNaN(t)) {
        Split train = predictions(dir, "train");
        t = Evaluation.chooseThreshold(train.p(), train.y(), "max-f1");
        on = "train";
      }
      assertEquals(on, fold.at("/threshold/chosen_on").asText());
      assertEquals(t, fold.at("/threshold/value").asDouble());
      Split test = predictions(dir, "test");
      tests.add(Evaluation.evaluate(test.p(), test.y(), CLASSES, t, 100, SEED));
    }
    assertEquals(List.of("test", "val"), names(m.get("cross_validation")));
    JsonNode auc = m.at("/cross_validation/test/auc");
    assertEquals(List.of("mean", "sd", "n"), names(auc));
    assertEquals(JSON.readTree(Json.bytes(Evaluation.crossValidation(tests))),
        m.at("/cross_validation/test"));
  }

  @Test
  void localisationPoolsTheLesionTilesOfTestSlides(@TempDir Path tmp) throws Exception {
    // Lesion instances are the cohort's shifted ones (first feature far from 0); masks mark
    // exactly their tiles, at downsample 16, in a mask wider than it is high.
    Map<String, Set<List<Long>>> lesion = new TreeMap<>();
    for (String line : Files.readAllLines(cohort.resolve("features.csv"))
        .subList(1, Files.readAllLines(cohort.resolve("features.csv")).size())) {
      String[] f = line.split(",");
      Set<List<Long>> tiles = lesion.computeIfAbsent(f[0], k -> new TreeSet<>(
          (a, b) -> a.get(0).equals(b.get(0)) ? Long.compare(a.get(1), b.get(1))
              : Long.compare(a.get(0), b.get(0))));
      if (Double.parseDouble(f[3]) > 1.5) {
        tiles.add(List.of(Long.parseLong(f[1]), Long.parseLong(f[2])));
      }
    }
    Path masks = Files.createDirectories(tmp.resolve("masks"));
    StringBuilder index = new StringBuilder("{\"downsample\": 16, \"slides\": [");
    for (Map.Entry<String, Set<List<Long>>> e : lesion.entrySet()) {
      BufferedImage img = new BufferedImage(112, 96, BufferedImage.TYPE_BYTE_GRAY);
      for (List<Long> xy : e.getValue()) {
        for (int y = 0; y < 16; y++) {
          for (int x = 0; x < 16; x++) {
            img.getRaster().setSample((int) (xy.get(0) / 16) + x, (int) (xy.get(1) / 16) + y, 0,
                255);
          }
        }
      }
      ImageIO.write(img, "png", masks.resolve(e.getKey() + ".png").toFile());
      index.append(index.charAt(index.length() - 1) == '[' ? "" : ",").append("{\"slide_id\": \"")
          .append(e.getKey()).append("\", \"mask_width\": 112, \"mask_height\": 96}");
    }
    Files.writeString(masks.resolve("masks.json"), index + "]}");

    // The run's labels file now lies beside the masks: they are found without --masks.
    Path run = copyRun(holdout, "localised");
    ObjectNode config = (ObjectNode) JSON.readTree(run.resolve(TrainStage.CONFIG).toFile());
    config.put("labels_file", tmp.resolve("labels.csv").toString());
    JSON.writeValue(run.resolve(TrainStage.CONFIG).toFile(), config);
    Files.deleteIfExists(run.resolve("." + TrainStage.CONFIG + ".crc"));
    EvaluateStage.Summary s = EvaluateStage.run(spark,
        new EvaluateSettings(run.toString(), "youden", 0, null, "", 256), QUIET);

    List<Double> scores = new ArrayList<>();
    List<Boolean> flags = new ArrayList<>();
    Set<String> testSlides = new TreeSet<>();
    spark.read().parquet(run.resolve(TrainStage.PREDICTIONS).toString())
        .where("split = 'test'").select("slide_id").collectAsList()
        .forEach(r -> testSlides.add(r.getString(0)));
    Map<String, List<Row>> attention = new HashMap<>();
    spark.read().parquet(run.resolve(TrainStage.ATTENTION).toString()).collectAsList()
        .forEach(r -> attention.computeIfAbsent(r.getString(0), k -> new ArrayList<>()).add(r));
    int slides = 0;
    for (String id : testSlides) {
      if (lesion.get(id).isEmpty()) {
        continue;
      }
      slides++;
      List<Row> rows = attention.get(id);
      for (Row r : rows) {
        scores.add(r.getFloat(3) * (double) rows.size());
        flags.add(lesion.get(id).contains(List.of(r.getLong(1), r.getLong(2))));
      }
    }
    double[] sc = scores.stream().mapToDouble(Double::doubleValue).toArray();
    boolean[] fl = new boolean[flags.size()];
    for (int i = 0; i < fl.length; i++) {
      fl[i] = flags.get(i);
    }
    double expected = Evaluation.localisationAuc(sc, fl);

    JsonNode loc = metrics(run).get("localisation");
    assertTrue(slides >= 2, "test slides with lesion: " + slides);
    assertEquals(slides, loc.get("slides").asInt());
    assertEquals(sc.length, loc.get("tiles").asInt());
    assertEquals(expected, loc.get("auc").asDouble(), 1e-12);
    assertEquals(expected, s.localisationAuc(), 1e-12);
    assertEquals("test", loc.get("split").asText());
    assertEquals("attention", loc.get("map").asText());
    assertTrue(loc.get("masks").asText().endsWith(masks.toString()), loc.toString());
    // A 4-epoch toy run: its attention only has to beat chance; how well heads localise is the
    // demo's and the synthetic cohort's business (localisation AUC 1.0 there).
    assertTrue(expected > 0.6, "attention should favour the shifted instances: " + expected);

    // Without a tile size the toy run's imported features leave localisation out.
    EvaluateStage.run(spark, new EvaluateSettings(run.toString(), "youden", 0, null, "", 0),
        QUIET);
    assertFalse(metrics(run).has("localisation"));
  }

  @Test
  void badInputGetsOneLine(@TempDir Path tmp) throws Exception {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> EvaluateStage.run(spark, settings(tmp.resolve("nope"), "youden", 0), QUIET));
    assertOneLine(e, "nope", "does not exist");

    Path unfinished = copyRun(holdout, "unfinished");
    Files.delete(unfinished.resolve(TrainStage.SUMMARY));
    e = assertThrows(IllegalArgumentException.class,
        () -> EvaluateStage.run(spark, settings(unfinished, "youden", 0), QUIET));
    assertOneLine(e, "unfinished", "not a finished train run (no summary.json)");

    Path empty = Files.createDirectories(tmp.resolve("empty-masks"));
    e = assertThrows(IllegalArgumentException.class, () -> EvaluateStage.run(spark,
        new EvaluateSettings(holdout.toString(), "youden", 0, null, empty.toString(), 256),
        QUIET));
    assertOneLine(e, "empty-masks", "has no masks.json");

    e = assertThrows(IllegalArgumentException.class,
        () -> new EvaluateSettings(holdout.toString(), "best", 0, null, "", 0));
    assertOneLine(e, "--threshold best", "youden, max-f1");
  }

  private static void assertOneLine(IllegalArgumentException e, String... parts) {
    for (String p : parts) {
      assertTrue(e.getMessage().contains(p), e.getMessage());
    }
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
  }

  private static Path copyRun(Path run, String name) throws Exception {
    Path copy = cohort.resolve("copies").resolve(name);
    FileUtils.copyDirectory(run.toFile(), copy.toFile());
    Files.deleteIfExists(copy.resolve(EvaluateStage.METRICS));
    return copy;
  }

  private static List<String> names(JsonNode node) {
    List<String> out = new ArrayList<>();
    node.fieldNames().forEachRemaining(out::add);
    return out;
  }
}
