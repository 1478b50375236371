package org.tessera.core.optim;

import java.io.Serializable;

/**
 * The one reduction contract for data-parallel training: {@code add} a bag's gradient and loss,
 * {@code merge} two partial sums, take the mean once at the end. Sums are kept in double so the
 * result does not depend (beyond double rounding) on how bags were split over workers or in which
 * order partial sums were merged: k workers give the same step as one.
 */
public final class GradientSum implements Serializable {

  private static final long serialVersionUID = 1L;

  private final double[] gradient;
  private double loss;
  private long count;

  public GradientSum(int numParams) {
    this.gradient = new double[numParams];
  }

  /** The array a model adds one bag's gradient into; call {@link #addLoss} once per bag. */
  public double[] gradientSum() {
    return gradient;
  }

  /** Records one bag's loss (its gradient already added to {@link #gradientSum()}). */
  public GradientSum addLoss(double bagLoss) {
    loss += bagLoss;
    count++;
    return this;
  }

  public GradientSum merge(GradientSum other) {
    if (other.gradient.length != gradient.length) {
      throw new IllegalArgumentException("cannot merge gradient sums of " + other.gradient.length
          + " and " + gradient.length + " parameters: the workers built different models");
    }
    for (int i = 0; i < gradient.length; i++) {
      gradient[i] += other.gradient[i];
    }
    loss += other.loss;
    count += other.count;
    return this;
  }

  public long count() {
    return count;
  }

  public double meanLoss() {
    return count == 0 ? Double.NaN : loss / count;
  }

  /** The mean gradient over the bags added, in float for the optimizer. */
  public float[] meanGradient() {
    if (count == 0) {
      throw new IllegalStateException("no bags were added to this gradient sum");
    }
    float[] mean = new float[gradient.length];
    for (int i = 0; i < mean.length; i++) {
      mean[i] = (float) (gradient[i] / count);
    }
    return mean;
  }
}
