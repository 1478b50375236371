package org.tessera.core.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tessera.core.PythonReference;

/**
 * Every metric, curve, confusion matrix, per-class value and chosen threshold against
 * scikit-learn 1.2 itself on the same predictions: binary cases with tied scores, imbalance and
 * degenerate predictions (0/0 ratios), three-class cases with ties and an absent class, and tile
 * masks for the localisation AUC. Needs Debian's scikit-learn; fails rather than skips without
 * it, so a missing reference is never mistaken for a pass.
 */
class EvaluationGoldenTest {

  private static final String INSTALL = "apt-get install -y python3-sklearn";
  /** Both sides do the same arithmetic; only summation order (numpy's pairwise sums) differs. */
  private static final double TOLERANCE = 1e-9;

  private record Case(String id, float[][] probs, int[] labels, double threshold) {}

  private record Tiles(String id, double[] scores, boolean[] mask) {}

  private static final List<Case> CASES = new ArrayList<>();
  private static final List<Tiles> TILES = new ArrayList<>();
  private static JsonNode expected;

  @BeforeAll
  static void runSklearn(@TempDir Path dir) throws Exception {
    PythonReference.require("sklearn, numpy", INSTALL);
    buildCases();
    ObjectMapper json = new ObjectMapper();
    List<Map<String, Object>> cases = new ArrayList<>();
    for (Case c : CASES) {
      double[][] probs = new double[c.probs.length][];
      for (int i = 0; i < probs.length; i++) {
        probs[i] = new double[c.probs[i].length];
        for (int k = 0; k < probs[i].length; k++) {
          probs[i][k] = c.probs[i][k];
        }
      }
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("id", c.id);
      m.put("probs", probs);
      m.put("labels", c.labels);
      m.put("threshold", c.threshold);
      cases.add(m);
    }
    List<Map<String, Object>> tiles = new ArrayList<>();
    for (Tiles t : TILES) {
      tiles.add(Map.of("id", t.id, "scores", t.scores, "mask", t.mask));
    }
    Path in = dir.resolve("cases.json");
    Path out = dir.resolve("sklearn.json");
    json.writeValue(in.toFile(), Map.of("cases", cases, "tiles", tiles));
    Path script = Path.of(EvaluationGoldenTest.class.getResource("sklearn_eval_golden.py").toURI());
    PythonReference.run(script, 120, in.toString(), out.toString());
    expected = JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build()
        .readTree(out.toFile());
  }

  private static void buildCases() {
    Random r = new Random(20240612L);
    // Scores on a 0.1 grid: many ties, within and across classes. 20 positives in 80.
    int n = 80;
    float[][] p = new float[n][];
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      y[i] = i < 20 ? 1 : 0;
      double s = Math.round(10 * clamp((y[i] == 1 ? 0.6 : 0.35) + 0.2 * r.nextGaussian())) / 10.0;
      p[i] = binary(s);
    }
    CASES.add(new Case("binary-ties", p, y, 0.5));
    n = 150;
    p = new float[n][];
    y = new int[n];
    for (int i = 0; i < n; i++) {
      y[i] = r.nextInt(5) == 0 ? 1 : 0;
      p[i] = binary(1 / (1 + Math.exp(-(r.nextGaussian() + 1.2 * y[i] - 1))));
    }
    CASES.add(new Case("binary-imbalanced", p, y, 0.3));
    CASES.add(new Case("binary-perfect", new float[][] {binary(0.1), binary(0.2), binary(0.7),
        binary(0.2), binary(0.9), binary(0.65)}, new int[] {0, 0, 1, 0, 1, 1}, 0.5));
    // Nothing reaches the threshold: precision and F1 are 0/0.
    CASES.add(new Case("binary-none-predicted", p, y, 0.999));
    // Everything predicted positive: specificity is 0, precision the prevalence.
    CASES.add(new Case("binary-all-predicted", p, y, 0.0));
    int[] zeros = new int[n];
    CASES.add(new Case("binary-only-negatives", p, zeros, 0.3));
    // One class in truth and prediction alike: kappa is 0/0.
    CASES.add(new Case("binary-only-negatives-none-predicted", p, zeros, 2.0));
    int[] ones = new int[n];
    Arrays.fill(ones, 1);
    CASES.add(new Case("binary-only-positives", p, ones, 0.3));

    n = 120;
    p = new float[n][];
    y = new int[n];
    for (int i = 0; i < n; i++) {
      y[i] = r.nextInt(3);
      double[] logits = {r.nextGaussian(), r.nextGaussian(), r.nextGaussian()};
      logits[y[i]] += 1.5;
      p[i] = softmax(logits);
    }
    CASES.add(new Case("three-class", p, y, Double.NaN));
    // A few distinct rows: tied scores within each class column and tied arg-max (0.4, 0.4).
    float[][] rows = {{0.6f, 0.3f, 0.1f}, {0.2f, 0.5f, 0.3f}, {0.1f, 0.1f, 0.8f},
        {0.4f, 0.4f, 0.2f}, {0.3f, 0.3f, 0.4f}, {0.2f, 0.6f, 0.2f}};
    n = 90;
    p = new float[n][];
    y = new int[n];
    for (int i = 0; i < n; i++) {
      y[i] = r.nextInt(3);
      p[i] = rows[(r.nextInt(2) == 0 ? y[i] : r.nextInt(rows.length)) % rows.length].clone();
    }
    CASES.add(new Case("three-class-ties", p, y, Double.NaN));
    // Every slide predicted class 0: classes 1 and 2 have precision 0/0.
    float[][] flat = new float[n][];
    for (int i = 0; i < n; i++) {
      float a = 0.5f + 0.01f * (i % 7);
      float b = (1 - a) * (i % 3) / 3f;
      flat[i] = new float[] {a, b, 1 - a - b};
    }
    CASES.add(new Case("three-class-all-one", flat, y, Double.NaN));
    // Class 2 never occurs: AUC undefined, its average precision 0, its recall 0/0.
    int[] twoOfThree = new int[n];
    for (int i = 0; i < n; i++) {
      twoOfThree[i] = y[i] % 2;
    }
    CASES.add(new Case("three-class-absent", p, twoOfThree, Double.NaN));

    // Attention quantised to 1/16, so tiles tie; about a quarter of tiles in the lesion.
    int tiles = 400;
    double[] scores = new double[tiles];
    boolean[] mask = new boolean[tiles];
    for (int i = 0; i < tiles; i++) {
      mask[i] = r.nextInt(4) == 0;
      scores[i] = Math.floor(16 * clamp(0.3 + (mask[i] ? 0.25 : 0) + 0.2 * r.nextGaussian()))
          / 16;
    }
    TILES.add(new Tiles("quantised", scores, mask));
    double[] continuous = new double[tiles];
    for (int i = 0; i < tiles; i++) {
      continuous[i] = Math.exp(r.nextGaussian() + (mask[i] ? 0.8 : 0));
    }
    TILES.add(new Tiles("continuous", continuous, mask));
    TILES.add(new Tiles("no-lesion", continuous, new boolean[tiles]));
  }

  @Test
  void metricsCurvesAndConfusionEqualSklearn() {
    for (Case c : CASES) {
      JsonNode want = expected.get("cases").get(c.id);
      int k = c.probs[0].length;
      List<String> classes = k == 2 ? List.of("benign", "tumour") : List.of("a", "b", "c");
      SplitMetrics got = Evaluation.evaluate(c.probs, c.labels, classes, c.threshold, 0, 1);
      assertEquals(c.labels.length, got.n());
      assertEquals(Evaluation.METRICS, List.copyOf(got.metrics().keySet()), c.id);
      for (String name : Evaluation.METRICS) {
        close(c.id + " " + name, want.get("metrics").get(name).asDouble(),
            got.metrics().get(name).value());
      }
      for (int a = 0; a < k; a++) {
        for (int b = 0; b < k; b++) {
          assertEquals(want.get("confusion").get(a).get(b).asInt(), got.confusion()[a][b],
              c.id + " confusion[" + a + "][" + b + "]");
        }
      }
      for (int cls = 0; cls < k; cls++) {
        JsonNode wantClass = want.get("per_class").get(cls);
        Map<String, Double> gotClass = got.perClass().get(classes.get(cls));
        assertEquals(List.of("auc", "sensitivity", "specificity", "precision", "f1", "support"),
            List.copyOf(gotClass.keySet()));
        String where = c.id + " " + classes.get(cls) + "/";
        gotClass.forEach((name, v) -> close(where + name, wantClass.get(name).asDouble(), v));
      }
      if (k == 2) {
        curve(c.id + " roc", want.get("roc"), got.roc());
        curve(c.id + " pr", want.get("pr"), got.pr());
      } else {
        assertNull(got.roc(), c.id);
        assertNull(got.pr(), c.id);
      }
    }
  }

  @Test
  void chosenThresholdsEqualNumpyOverSklearnCurves() {
    int checked = 0;
    for (Case c : CASES) {
      if (c.probs[0].length != 2) {
        continue;
      }
      JsonNode want = expected.get("cases").get(c.id);
      assertEquals(want.get("youden").asDouble(),
          Evaluation.chooseThreshold(c.probs, c.labels, "youden"), c.id + " youden");
      assertEquals(want.get("max_f1").asDouble(),
          Evaluation.chooseThreshold(c.probs, c.labels, "max-f1"), c.id + " max-f1");
      checked += Double.isNaN(want.get("youden").asDouble()) ? 0 : 1;
    }
    assertTrue(checked >= 4, "only " + checked + " binary cases had a defined threshold");
  }

  @Test
  void localisationAucEqualsSklearn() {
    for (Tiles t : TILES) {
      close(t.id, expected.get("tiles").get(t.id).asDouble(),
          Evaluation.localisationAuc(t.scores, t.mask));
    }
  }

  private static void curve(String what, JsonNode want, Curve got) {
    double[][] parts = {got.x(), got.y(), got.thresholds()};
    String[] names = {"x", "y", "thresholds"};
    for (int part = 0; part < 3; part++) {
      JsonNode w = want.get(part);
      assertEquals(w.size(), parts[part].length, what + " " + names[part] + " length");
      for (int i = 0; i < w.size(); i++) {
        close(what + " " + names[part] + "[" + i + "]", w.get(i).asDouble(), parts[part][i]);
      }
    }
  }

  private static void close(String what, double want, double got) {
    if (Double.isNaN(want) || Double.isNaN(got)) {
      assertEquals(want, got, what + ": scikit-learn " + want + ", Tessera " + got);
    } else if (!(Math.abs(want - got) <= TOLERANCE)) {
      fail(what + ": scikit-learn " + want + ", Tessera " + got);
    }
  }

  private static double clamp(double v) {
    return Math.max(0, Math.min(1, v));
  }

  private static float[] binary(double positive) {
    float s = (float) positive;
    return new float[] {1 - s, s};
  }

  private static float[] softmax(double[] logits) {
    double sum = 0;
    for (double l : logits) {
      sum += Math.exp(l);
    }
    float[] out = new float[logits.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = (float) (Math.exp(logits[i]) / sum);
    }
    return out;
  }
}
