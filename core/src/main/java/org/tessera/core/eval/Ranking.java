package org.tessera.core.eval;

import java.util.Arrays;

/**
 * Cumulative true and false positives at each distinct score, highest score first: ROC and
 * precision-recall curves and their areas are all read from these, as scikit-learn 1.2 reads
 * them from {@code _binary_clf_curve}. Counts are doubles because every ratio divides them.
 */
final class Ranking {

  /** Distinct scores, falling. */
  private final double[] thresholds;
  /** Positives / negatives scoring at or above {@code thresholds[i]}. */
  private final double[] tps;
  private final double[] fps;

  private Ranking(double[] thresholds, double[] tps, double[] fps) {
    this.thresholds = thresholds;
    this.tps = tps;
    this.fps = fps;
  }

  /** Scores must not be NaN (callers check, naming the slide or tile). */
  static Ranking of(double[] scores, boolean[] positive) {
    int pos = 0;
    for (boolean p : positive) {
      pos += p ? 1 : 0;
    }
    double[] ps = new double[pos];
    double[] ns = new double[scores.length - pos];
    for (int i = 0, a = 0, b = 0; i < scores.length; i++) {
      if (positive[i]) {
        ps[a++] = scores[i];
      } else {
        ns[b++] = scores[i];
      }
    }
    // Two primitive sorts and a merge: cheaper than sorting boxed indices, which matters when
    // the bootstrap ranks every replicate.
    Arrays.sort(ps);
    Arrays.sort(ns);
    double[] thr = new double[scores.length];
    double[] tp = new double[scores.length];
    double[] fp = new double[scores.length];
    int i = ps.length - 1;
    int j = ns.length - 1;
    int m = 0;
    long t = 0;
    long f = 0;
    while (i >= 0 || j >= 0) {
      double v = i < 0 ? ns[j] : j < 0 ? ps[i] : Math.max(ps[i], ns[j]);
      // == groups -0.0 with 0.0, as numpy's diff does.
      while (i >= 0 && ps[i] == v) {
        i--;
        t++;
      }
      while (j >= 0 && ns[j] == v) {
        j--;
        f++;
      }
      thr[m] = v;
      tp[m] = t;
      fp[m] = f;
      m++;
    }
    return new Ranking(Arrays.copyOf(thr, m), Arrays.copyOf(tp, m), Arrays.copyOf(fp, m));
  }

  double positives() {
    return tps[tps.length - 1];
  }

  double negatives() {
    return fps[fps.length - 1];
  }

  /**
   * roc_curve(drop_intermediate=True): points collinear with both neighbours are dropped (they
   * never change the area or an optimum), and a first point (0, 0) is added whose threshold is
   * the highest score plus one, as scikit-learn 1.2 does (1.3 moved to infinity). A rate whose
   * denominator is zero is NaN at every point.
   */
  Curve roc() {
    int m = thresholds.length;
    int[] keep = new int[m];
    int k = 0;
    for (int i = 0; i < m; i++) {
      if (i == 0 || i == m - 1
          || fps[i - 1] - 2 * fps[i] + fps[i + 1] != 0
          || tps[i - 1] - 2 * tps[i] + tps[i + 1] != 0) {
        keep[k++] = i;
      }
    }
    double[] fpr = new double[k + 1];
    double[] tpr = new double[k + 1];
    double[] thr = new double[k + 1];
    thr[0] = thresholds[0] + 1;
    double negatives = negatives();
    double positives = positives();
    fpr[0] = negatives > 0 ? 0 : Double.NaN;
    tpr[0] = positives > 0 ? 0 : Double.NaN;
    for (int a = 0; a < k; a++) {
      int i = keep[a];
      fpr[a + 1] = negatives > 0 ? fps[i] / negatives : Double.NaN;
      tpr[a + 1] = positives > 0 ? tps[i] / positives : Double.NaN;
      thr[a + 1] = thresholds[i];
    }
    return new Curve(fpr, tpr, thr);
  }

  /** Area under {@link #roc()} by trapezoids; NaN without both positives and negatives. */
  double rocAuc() {
    if (positives() == 0 || negatives() == 0) {
      return Double.NaN;
    }
    Curve c = roc();
    double area = 0;
    for (int i = 1; i < c.x().length; i++) {
      area += (c.x()[i] - c.x()[i - 1]) * (c.y()[i] + c.y()[i - 1]) / 2.0;
    }
    return area;
  }

  /**
   * precision_recall_curve: one point per distinct score, thresholds rising, then the closing
   * point (recall 0, precision 1). Without positives recall is 1 at every threshold, as
   * scikit-learn sets it.
   */
  Curve pr() {
    int m = thresholds.length;
    double positives = positives();
    double[] recall = new double[m + 1];
    double[] precision = new double[m + 1];
    double[] thr = new double[m];
    for (int a = 0; a < m; a++) {
      int i = m - 1 - a;
      precision[a] = tps[i] / (tps[i] + fps[i]);
      recall[a] = positives > 0 ? tps[i] / positives : 1;
      thr[a] = thresholds[i];
    }
    precision[m] = 1;
    return new Curve(recall, precision, thr);
  }

  /**
   * average_precision_score: the precision-weighted sum of recall steps, no interpolation. It is
   * 0, not undefined, without positives, because scikit-learn's recall convention makes it so.
   */
  double averagePrecision() {
    Curve c = pr();
    double sum = 0;
    for (int i = 0; i + 1 < c.x().length; i++) {
      sum += (c.x()[i + 1] - c.x()[i]) * c.y()[i];
    }
    return -sum;
  }

  /**
   * The smallest threshold maximising Youden's J (TPR - FPR) over {@link #roc()}'s points. The
   * last point (every slide positive) has J = 0 and so ties or beats the artificial first point,
   * whose threshold (highest score + 1) is therefore never returned.
   */
  double youden() {
    Curve c = roc();
    int best = 0;
    double bestJ = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < c.x().length; i++) {
      double j = c.y()[i] - c.x()[i];
      if (j >= bestJ) {
        bestJ = j;
        best = i;
      }
    }
    return c.thresholds()[best];
  }

  /** The smallest threshold maximising F1 over {@link #pr()}'s thresholds (F1 = 0 at P = R = 0). */
  double maxF1() {
    Curve c = pr();
    int best = 0;
    double bestF = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < c.thresholds().length; i++) {
      double p = c.y()[i];
      double r = c.x()[i];
      double f = p + r > 0 ? 2 * p * r / (p + r) : 0;
      if (f > bestF) {
        bestF = f;
        best = i;
      }
    }
    return c.thresholds()[best];
  }
}
