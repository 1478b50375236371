package org.tessera.core.eval;

/**
 * Points of a ranking curve and the score thresholds that produce them, in scikit-learn's order:
 * ROC as (false positive rate, true positive rate) with thresholds falling, one per point;
 * precision-recall as (recall, precision) with thresholds rising and one point more than
 * thresholds (the closing point at recall 0, precision 1, has none).
 */
public record Curve(double[] x, double[] y, double[] thresholds) {}
