package org.tessera.core.eval;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The metrics training records every epoch: cross-entropy of the predicted probabilities,
 * accuracy (arg-max class) and ROC AUC (binary: of the last class's probability; multi-class:
 * the macro average of one-vs-rest AUCs over classes that occur with both outcomes).
 */
public final class Metrics {

  /** Probabilities below this are clipped before the logarithm, as scikit-learn's log_loss does. */
  static final double EPS = 1e-15;

  private Metrics() {}

  /**
   * @param probabilities one row of class probabilities per slide
   * @param labels        the slides' class indices
   * @return {@code loss}, {@code accuracy}, {@code auc} (NaN when no class has both outcomes)
   */
  public static Map<String, Double> summary(float[][] probabilities, int[] labels) {
    if (probabilities.length != labels.length) {
      throw new IllegalArgumentException(probabilities.length + " predictions for "
          + labels.length + " labels");
    }
    Map<String, Double> m = new LinkedHashMap<>();
    int n = labels.length;
    if (n == 0) {
      m.put("loss", Double.NaN);
      m.put("accuracy", Double.NaN);
      m.put("auc", Double.NaN);
      return m;
    }
    double loss = 0;
    int correct = 0;
    for (int i = 0; i < n; i++) {
      float[] p = probabilities[i];
      loss -= Math.log(Math.max(EPS, p[labels[i]]));
      int best = 0;
      for (int c = 1; c < p.length; c++) {
        if (p[c] > p[best]) {
          best = c;
        }
      }
      correct += best == labels[i] ? 1 : 0;
    }
    m.put("loss", loss / n);
    m.put("accuracy", (double) correct / n);
    m.put("auc", auc(probabilities, labels));
    return m;
  }

  /** Binary or macro one-vs-rest ROC AUC; see the class comment. */
  public static double auc(float[][] probabilities, int[] labels) {
    int classes = probabilities.length == 0 ? 0 : probabilities[0].length;
    if (classes == 2) {
      return binaryAuc(column(probabilities, 1), positives(labels, 1));
    }
    double sum = 0;
    int counted = 0;
    for (int c = 0; c < classes; c++) {
      double a = binaryAuc(column(probabilities, c), positives(labels, c));
      if (!Double.isNaN(a)) {
        sum += a;
        counted++;
      }
    }
    return counted == 0 ? Double.NaN : sum / counted;
  }

  /**
   * The probability that a random positive scores above a random negative, ties counting one
   * half (the Mann-Whitney statistic, from average ranks); NaN without both outcomes.
   */
  public static double binaryAuc(double[] scores, boolean[] positive) {
    int n = scores.length;
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> Double.compare(scores[a], scores[b]));
    double rankSum = 0;
    long pos = 0;
    for (int i = 0; i < n;) {
      int j = i;
      while (j + 1 < n && scores[order[j + 1]] == scores[order[i]]) {
        j++;
      }
      double avgRank = (i + j) / 2.0 + 1;
      for (int k = i; k <= j; k++) {
        if (positive[order[k]]) {
          rankSum += avgRank;
          pos++;
        }
      }
      i = j + 1;
    }
    long neg = n - pos;
    if (pos == 0 || neg == 0) {
      return Double.NaN;
    }
    return (rankSum - pos * (pos + 1) / 2.0) / ((double) pos * neg);
  }

  private static double[] column(float[][] p, int c) {
    double[] out = new double[p.length];
    for (int i = 0; i < p.length; i++) {
      out[i] = p[i][c];
    }
    return out;
  }

  private static boolean[] positives(int[] labels, int c) {
    boolean[] out = new boolean[labels.length];
    for (int i = 0; i < labels.length; i++) {
      out[i] = labels[i] == c;
    }
    return out;
  }
}
