package org.tessera.core.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Slide-level evaluation with the definitions of scikit-learn 1.2, so numbers reported here can
 * be compared with published ones computed in Python.
 *
 * <p>Binary tasks (two classes): class index 1 is positive; a slide is predicted positive when
 * its class-1 probability is at least the threshold. Sensitivity, precision and F1 are those of
 * class 1, specificity is the recall of class 0. More classes: the arg-max class (the lower
 * index on a tie) is predicted; sensitivity, specificity, precision and F1 are macro averages
 * over all K classes, absent ones included (scikit-learn with {@code labels=range(K)}).
 * A ratio of 0/0 counts as 0, scikit-learn's default {@code zero_division}.
 *
 * <p>AUC is the ROC AUC (binary: of the class-1 probability; more classes: the macro average of
 * one-vs-rest AUCs, NaN when any class lacks slides of either outcome). PR AUC is the average
 * precision, averaged over one-vs-rest classes likewise; it is 0 for a class without slides.
 * Kappa is Cohen's unweighted kappa, NaN when truth and prediction are one and the same class.
 */
public final class Evaluation {

  /** The scalar metrics, in the order {@link SplitMetrics#metrics()} lists them. */
  public static final List<String> METRICS = List.of("auc", "pr_auc", "sensitivity",
      "specificity", "precision", "accuracy", "balanced_accuracy", "f1", "kappa");

  public static final List<String> THRESHOLD_METHODS = List.of("youden", "max-f1");

  private Evaluation() {}

  /**
   * @param probabilities one row of K class probabilities per slide
   * @param labels        the slides' true class indices, 0..K-1
   * @param classes       the K class names, in index order
   * @param threshold     binary only: the class-1 probability from which a slide is positive;
   *                      ignored for more classes
   * @param bootstrap     replicates for the 95% intervals, 0 for none
   * @param seed          seeds the resampling, so an evaluation is repeatable
   */
  public static SplitMetrics evaluate(float[][] probabilities, int[] labels, List<String> classes,
      double threshold, int bootstrap, long seed) {
    int k = check(probabilities, labels);
    if (classes.size() != k) {
      throw new IllegalArgumentException(classes.size() + " class names " + classes + " for "
          + k + " probability columns: pass one name per column");
    }
    if (k == 2 && Double.isNaN(threshold)) {
      throw new IllegalArgumentException("threshold NaN: pass a probability such as 0.5 or one"
          + " from chooseThreshold on validation slides");
    }
    if (bootstrap < 0) {
      throw new IllegalArgumentException("bootstrap " + bootstrap
          + ": pass the number of replicates, 0 for no intervals");
    }
    double[][] p = widen(probabilities);
    int[] predicted = predict(p, threshold);
    Ranking[] rankings = rankings(p, labels, k);
    int[][] confusion = confusion(labels, predicted, k);
    double[] point = scalars(rankings, confusion);
    double[][] intervals = intervals(p, labels, predicted, k, bootstrap, seed);

    Map<String, Estimate> metrics = new LinkedHashMap<>();
    for (int m = 0; m < METRICS.size(); m++) {
      metrics.put(METRICS.get(m), new Estimate(point[m], intervals[m][0], intervals[m][1]));
    }
    Map<String, Map<String, Double>> perClass = new LinkedHashMap<>();
    for (int c = 0; c < k; c++) {
      ClassStats s = ClassStats.of(confusion, c);
      Map<String, Double> m = new LinkedHashMap<>();
      m.put("auc", rankings[c].rocAuc());
      m.put("sensitivity", s.recall);
      m.put("specificity", s.specificity);
      m.put("precision", s.precision);
      m.put("f1", s.f1);
      m.put("support", (double) s.support);
      perClass.put(classes.get(c), m);
    }
    Curve roc = k == 2 ? rankings[1].roc() : null;
    Curve pr = k == 2 ? rankings[1].pr() : null;
    return new SplitMetrics(labels.length, metrics, confusion, roc, pr, perClass);
  }

  /**
   * A binary decision threshold chosen on validation slides: {@code youden} maximises TPR - FPR
   * over roc_curve's thresholds, {@code max-f1} maximises F1 over precision_recall_curve's. Ties
   * go to the smallest threshold (the more sensitive choice). The result is always one of the
   * slides' class-1 probabilities, never roc_curve's artificial first threshold.
   *
   * @return the threshold; NaN for more than two classes or when the slides lack either class
   */
  public static double chooseThreshold(float[][] probabilities, int[] labels, String method) {
    if (!THRESHOLD_METHODS.contains(method)) {
      throw new IllegalArgumentException("threshold method '" + method + "' is not one of "
          + String.join(", ", THRESHOLD_METHODS));
    }
    int k = check(probabilities, labels);
    if (k != 2) {
      return Double.NaN;
    }
    Ranking r = rankings(widen(probabilities), labels, k)[1];
    if (r.positives() == 0 || r.negatives() == 0) {
      return Double.NaN;
    }
    return method.equals("youden") ? r.youden() : r.maxF1();
  }

  /**
   * Mean and sample standard deviation (n - 1) of each metric's value over folds. A fold where
   * the metric is NaN is left out and not counted in n; sd is NaN below two folds.
   */
  public static Map<String, Summary> crossValidation(List<SplitMetrics> folds) {
    if (folds.isEmpty()) {
      throw new IllegalArgumentException("no folds: pass the SplitMetrics of at least one fold");
    }
    Map<String, Summary> out = new LinkedHashMap<>();
    for (String name : folds.get(0).metrics().keySet()) {
      List<Double> values = new ArrayList<>();
      for (SplitMetrics fold : folds) {
        Estimate e = fold.metrics().get(name);
        if (e == null) {
          throw new IllegalArgumentException("a fold has no metric '" + name
              + "': pass folds from the same evaluate()");
        }
        if (!Double.isNaN(e.value())) {
          values.add(e.value());
        }
      }
      int n = values.size();
      double mean = values.stream().mapToDouble(Double::doubleValue).sum() / n;
      double squares = values.stream().mapToDouble(v -> (v - mean) * (v - mean)).sum();
      out.put(name, new Summary(mean, n < 2 ? Double.NaN : Math.sqrt(squares / (n - 1)), n));
    }
    return out;
  }

  /**
   * How well a slide's tile scores (attention) rank its lesion tiles above the rest: the ROC
   * AUC, NaN when the mask marks all tiles or none.
   */
  public static double localisationAuc(double[] tileScores, boolean[] tileInLesion) {
    if (tileScores.length != tileInLesion.length) {
      throw new IllegalArgumentException(tileScores.length + " tile scores for "
          + tileInLesion.length + " mask values: pass one mask value per tile");
    }
    for (int i = 0; i < tileScores.length; i++) {
      if (Double.isNaN(tileScores[i])) {
        throw new IllegalArgumentException("tile " + i + " has score NaN: pass finite scores");
      }
    }
    return Ranking.of(tileScores, tileInLesion).rocAuc();
  }

  /** Checks shapes and values; returns the number of classes. */
  private static int check(float[][] probabilities, int[] labels) {
    if (probabilities.length != labels.length) {
      throw new IllegalArgumentException(probabilities.length + " probability rows for "
          + labels.length + " labels: pass one row per slide");
    }
    if (labels.length == 0) {
      throw new IllegalArgumentException("no slides: pass at least one prediction");
    }
    int k = probabilities[0].length;
    if (k < 2) {
      throw new IllegalArgumentException(k + " probability columns: pass at least two classes");
    }
    for (int i = 0; i < labels.length; i++) {
      if (probabilities[i].length != k) {
        throw new IllegalArgumentException("slide " + i + " has " + probabilities[i].length
            + " probabilities, slide 0 has " + k + ": pass K per slide");
      }
      for (float v : probabilities[i]) {
        if (Float.isNaN(v)) {
          throw new IllegalArgumentException("slide " + i + " has probability NaN: check the"
              + " model's output");
        }
      }
      if (labels[i] < 0 || labels[i] >= k) {
        throw new IllegalArgumentException("slide " + i + " has label " + labels[i]
            + ": pass class indices 0.." + (k - 1));
      }
    }
    return k;
  }

  private static double[][] widen(float[][] probabilities) {
    double[][] p = new double[probabilities.length][];
    for (int i = 0; i < p.length; i++) {
      p[i] = new double[probabilities[i].length];
      for (int c = 0; c < p[i].length; c++) {
        p[i][c] = probabilities[i][c];
      }
    }
    return p;
  }

  private static int[] predict(double[][] p, double threshold) {
    int[] out = new int[p.length];
    for (int i = 0; i < p.length; i++) {
      if (p[i].length == 2) {
        out[i] = p[i][1] >= threshold ? 1 : 0;
      } else {
        int best = 0;
        for (int c = 1; c < p[i].length; c++) {
          if (p[i][c] > p[i][best]) {
            best = c;
          }
        }
        out[i] = best;
      }
    }
    return out;
  }

  /** One-vs-rest ranking of each class's probability. */
  private static Ranking[] rankings(double[][] p, int[] labels, int k) {
    Ranking[] out = new Ranking[k];
    double[] scores = new double[labels.length];
    boolean[] positive = new boolean[labels.length];
    for (int c = 0; c < k; c++) {
      for (int i = 0; i < labels.length; i++) {
        scores[i] = p[i][c];
        positive[i] = labels[i] == c;
      }
      out[c] = Ranking.of(scores, positive);
    }
    return out;
  }

  private static int[][] confusion(int[] labels, int[] predicted, int k) {
    int[][] out = new int[k][k];
    for (int i = 0; i < labels.length; i++) {
      out[labels[i]][predicted[i]]++;
    }
    return out;
  }

  /** The values of {@link #METRICS}, in order. */
  private static double[] scalars(Ranking[] rankings, int[][] confusion) {
    int k = confusion.length;
    ClassStats[] stats = new ClassStats[k];
    long n = 0;
    long correct = 0;
    for (int c = 0; c < k; c++) {
      stats[c] = ClassStats.of(confusion, c);
      n += stats[c].support;
      correct += confusion[c][c];
    }
    double auc;
    double prAuc;
    double sensitivity;
    double specificity;
    double precision;
    double f1;
    if (k == 2) {
      auc = rankings[1].rocAuc();
      prAuc = rankings[1].averagePrecision();
      sensitivity = stats[1].recall;
      specificity = stats[0].recall;
      precision = stats[1].precision;
      f1 = stats[1].f1;
    } else {
      auc = 0;
      prAuc = 0;
      sensitivity = 0;
      specificity = 0;
      precision = 0;
      f1 = 0;
      for (int c = 0; c < k; c++) {
        auc += rankings[c].rocAuc();
        prAuc += rankings[c].averagePrecision();
        sensitivity += stats[c].recall;
        specificity += stats[c].specificity;
        precision += stats[c].precision;
        f1 += stats[c].f1;
      }
      auc /= k;
      prAuc /= k;
      sensitivity /= k;
      specificity /= k;
      precision /= k;
      f1 /= k;
    }
    // Balanced accuracy averages recall over the classes that occur, so an absent class
    // neither counts as 0 nor is undefined.
    double recallSum = 0;
    int present = 0;
    for (ClassStats s : stats) {
      if (s.support > 0) {
        recallSum += s.recall;
        present++;
      }
    }
    double disagree = 0;
    double expectedDisagree = 0;
    for (int a = 0; a < k; a++) {
      for (int b = 0; b < k; b++) {
        if (a != b) {
          disagree += confusion[a][b];
          expectedDisagree += (double) stats[a].support * stats[b].predicted / n;
        }
      }
    }
    double kappa = 1 - disagree / expectedDisagree;
    return new double[] {auc, prAuc, sensitivity, specificity, precision, (double) correct / n,
        recallSum / present, f1, kappa};
  }

  /**
   * Percentile intervals (2.5 and 97.5, numpy's linear interpolation) over replicates that
   * resample the slides with replacement. A replicate missing a class the split has is skipped
   * for every metric: AUC is undefined there and the 0/0 = 0 convention would drag the ratios
   * towards 0. A metric NaN in a kept replicate (kappa) is skipped for that metric alone.
   */
  private static double[][] intervals(double[][] p, int[] labels, int[] predicted, int k,
      int replicates, long seed) {
    double[][] out = new double[METRICS.size()][];
    for (int m = 0; m < out.length; m++) {
      out[m] = new double[] {Double.NaN, Double.NaN};
    }
    if (replicates == 0) {
      return out;
    }
    int n = labels.length;
    boolean[] inSplit = new boolean[k];
    for (int y : labels) {
      inSplit[y] = true;
    }
    double[][] values = new double[out.length][replicates];
    int[] counts = new int[out.length];
    SplittableRandom random = new SplittableRandom(seed);
    double[][] rp = new double[n][];
    int[] ry = new int[n];
    int[] rpred = new int[n];
    for (int b = 0; b < replicates; b++) {
      boolean[] seen = new boolean[k];
      for (int i = 0; i < n; i++) {
        int j = random.nextInt(n);
        rp[i] = p[j];
        ry[i] = labels[j];
        rpred[i] = predicted[j];
        seen[ry[i]] = true;
      }
      if (!Arrays.equals(seen, inSplit)) {
        continue;
      }
      double[] v = scalars(rankings(rp, ry, k), confusion(ry, rpred, k));
      for (int m = 0; m < v.length; m++) {
        if (!Double.isNaN(v[m])) {
          values[m][counts[m]++] = v[m];
        }
      }
    }
    for (int m = 0; m < out.length; m++) {
      if (counts[m] > 0) {
        double[] sorted = Arrays.copyOf(values[m], counts[m]);
        Arrays.sort(sorted);
        out[m] = new double[] {percentile(sorted, 2.5), percentile(sorted, 97.5)};
      }
    }
    return out;
  }

  private static double percentile(double[] sorted, double q) {
    double h = (sorted.length - 1) * q / 100;
    int lo = (int) Math.floor(h);
    int hi = Math.min(lo + 1, sorted.length - 1);
    return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
  }

  /** One class against the rest, from the confusion matrix; 0/0 ratios are 0. */
  private record ClassStats(long support, long predicted, double recall, double specificity,
      double precision, double f1) {

    static ClassStats of(int[][] confusion, int c) {
      long support = 0;
      long predicted = 0;
      long n = 0;
      for (int a = 0; a < confusion.length; a++) {
        support += confusion[c][a];
        predicted += confusion[a][c];
        for (int b = 0; b < confusion.length; b++) {
          n += confusion[a][b];
        }
      }
      long tp = confusion[c][c];
      long fp = predicted - tp;
      long tn = n - support - fp;
      double recall = ratio(tp, support);
      double precision = ratio(tp, predicted);
      double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
      return new ClassStats(support, predicted, recall, ratio(tn, tn + fp), precision, f1);
    }

    private static double ratio(long a, long b) {
      return b == 0 ? 0 : (double) a / b;
    }
  }
}
