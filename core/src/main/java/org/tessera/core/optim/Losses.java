package org.tessera.core.optim;

import java.util.List;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Per-bag classification losses built into a SameDiff graph, so their gradients flow through
 * autodiff like the rest of the head. Each takes the bag's logits {@code [1, C]} and a one-hot
 * target {@code [1, C]} (a placeholder: the graph is built once, the label changes per bag) and
 * returns a scalar. With {@code p = softmax(logits)} and {@code y} the label:
 *
 * <ul>
 *   <li>{@code ce}: {@code -log p_y}.
 *   <li>{@code weighted-ce}: {@code w_y · (-log p_y)}. Unlike PyTorch's batch-mean weighted
 *       cross-entropy, the mean over bags later divides by the number of bags, not by the sum of
 *       their weights, so a heavier class really counts more.
 *   <li>{@code focal}: {@code -α (1 - p_y)^γ log p_y}, the same α for every class (softmax focal
 *       loss; with two classes it is the binary focal loss with α on both sides).
 *   <li>{@code hinge}: Crammer-Singer multi-class hinge on the logits,
 *       {@code max(0, 1 + max_{j≠y} s_j - s_y)}; with two classes this is the standard hinge
 *       {@code max(0, 1 - t·m)} on the margin {@code m = s_1 - s_0}, {@code t = ±1}.
 * </ul>
 */
public final class Losses {

  public static final List<String> NAMES = List.of("ce", "weighted-ce", "focal", "hinge");

  private Losses() {}

  /**
   * The scalar loss {@code name} of {@code logits} against {@code oneHot}.
   *
   * @param classWeights per-class weights for {@code weighted-ce} (ignored otherwise)
   * @param alpha focal α
   * @param gamma focal γ
   */
  public static SDVariable bagLoss(SameDiff sd, String name, SDVariable logits, SDVariable oneHot,
      double[] classWeights, double alpha, double gamma) {
    switch (name) {
      case "ce":
        return logProbOfLabel(sd, logits, oneHot).neg();
      case "weighted-ce": {
        if (classWeights == null) {
          throw new IllegalArgumentException("loss weighted-ce needs classWeights, got null: set"
              + " one weight per class");
        }
        SDVariable weights = sd.constant(Nd4j.create(classWeights, new long[] {1,
            classWeights.length}).castTo(logits.dataType()));
        SDVariable labelWeight = oneHot.mul(weights).sum();
        return logProbOfLabel(sd, logits, oneHot).mul(labelWeight).neg();
      }
      case "focal": {
        SDVariable logP = logProbOfLabel(sd, logits, oneHot);
        SDVariable modulation = sd.math.pow(sd.math.exp(logP).rsub(1.0), gamma);
        return modulation.mul(logP).mul(-alpha);
      }
      case "hinge": {
        // Adding 1 - onehot makes the label's own term 0, so the max over all classes is
        // max(0, max over the other classes), with no large sentinel constant.
        SDVariable shifted = logits.add(oneHot.rsub(1.0));
        return shifted.max().sub(logits.mul(oneHot).sum());
      }
      default:
        throw new IllegalArgumentException("loss=" + name + " is unknown: use one of " + NAMES);
    }
  }

  /**
   * The same losses for one bag's logits computed directly, for heads whose backward pass is
   * written out ({@code abmil}, {@code gated-abmil}): returns the loss and writes d(loss)/d(logits)
   * to {@code dLogits}. Agrees with {@link #bagLoss}'s graph and its autodiff gradient.
   */
  public static double bagLossAndGradient(String name, double[] logits, int label,
      double[] classWeights, double alpha, double gamma, double[] dLogits) {
    int c = logits.length;
    double[] logProbs = logSoftmax(logits);
    double[] p = new double[c];
    for (int j = 0; j < c; j++) {
      p[j] = Math.exp(logProbs[j]);
    }
    double logP = logProbs[label];
    switch (name) {
      case "ce", "weighted-ce" -> {
        double w = 1;
        if (name.equals("weighted-ce")) {
          if (classWeights == null) {
            throw new IllegalArgumentException("loss weighted-ce needs classWeights, got null:"
                + " set one weight per class");
          }
          w = classWeights[label];
        }
        for (int j = 0; j < c; j++) {
          dLogits[j] = w * (p[j] - (j == label ? 1 : 0));
        }
        return -w * logP;
      }
      case "focal" -> {
        // L = -a (1 - q)^g log q with q = p_label; d log q / d l_j = y_j - p_j and
        // dq / d l_j = q (y_j - p_j).
        double q = Math.exp(logP);
        double rest = 1 - q;
        double modulation = Math.pow(rest, gamma);
        double slope = gamma == 0 ? 0 : rest == 0 ? 0 : gamma * Math.pow(rest, gamma - 1);
        double factor = modulation - slope * q * logP;
        for (int j = 0; j < c; j++) {
          dLogits[j] = -alpha * ((j == label ? 1 : 0) - p[j]) * factor;
        }
        return -alpha * modulation * logP;
      }
      case "hinge" -> {
        int arg = 0;
        double best = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < c; j++) {
          double shifted = logits[j] + (j == label ? 0 : 1);
          if (shifted > best) {
            best = shifted;
            arg = j;
          }
        }
        for (int j = 0; j < c; j++) {
          dLogits[j] = (j == arg ? 1 : 0) - (j == label ? 1 : 0);
        }
        return best - logits[label];
      }
      default -> throw new IllegalArgumentException("loss=" + name + " is unknown: use one of "
          + NAMES);
    }
  }

  /** Softmax of {@code v} in double, max-shifted so large values cannot overflow. */
  public static double[] softmax(double[] v) {
    double max = max(v);
    double sum = 0;
    double[] e = new double[v.length];
    for (int i = 0; i < v.length; i++) {
      e[i] = Math.exp(v[i] - max);
      sum += e[i];
    }
    for (int i = 0; i < e.length; i++) {
      e[i] /= sum;
    }
    return e;
  }

  /** Log-softmax of {@code v} in double: {@code v - max - log(sum(exp(v - max)))}. */
  public static double[] logSoftmax(double[] v) {
    double max = max(v);
    double sum = 0;
    for (double x : v) {
      sum += Math.exp(x - max);
    }
    double logSum = Math.log(sum);
    double[] out = new double[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = v[i] - max - logSum;
    }
    return out;
  }

  private static double max(double[] v) {
    double max = Double.NEGATIVE_INFINITY;
    for (double x : v) {
      max = Math.max(max, x);
    }
    return max;
  }

  private static SDVariable logProbOfLabel(SameDiff sd, SDVariable logits, SDVariable oneHot) {
    return logSoftmaxRows(sd, logits).mul(oneHot).sum();
  }

  /**
   * Row-wise log-softmax of a {@code [rows, C]} matrix. Written out because SameDiff's
   * {@code logSoftmax} with an explicit dimension cannot be differentiated in 1.0.0-M2.1.
   */
  public static SDVariable logSoftmaxRows(SameDiff sd, SDVariable logits) {
    SDVariable shifted = logits.sub(logits.max(true, 1));
    return shifted.sub(sd.math.log(sd.math.exp(shifted).sum(true, 1)));
  }
}
