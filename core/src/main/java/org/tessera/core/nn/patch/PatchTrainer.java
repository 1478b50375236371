package org.tessera.core.nn.patch;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.tessera.core.collective.Collective;
import org.tessera.core.optim.Losses;
import org.tessera.core.optim.Optimizer;

/**
 * One data-parallel worker's training and evaluation of a {@link PatchNet}: every worker of the
 * collective calls {@link #step} with its share of the global batch at the same time, and all of
 * them end the step with the same (bit-identical) weights, as if one worker had trained on the
 * whole batch: batch norms use global statistics, the loss is averaged over the global batch and
 * gradients are summed across workers before the identical optimizer step.
 */
public final class PatchTrainer {

  /** Global mean loss and accuracy of one step or evaluation. */
  public record Result(double loss, double accuracy, long count) {}

  /** {@link Result} plus this worker's per-tile class probabilities [n][numClasses]. */
  public record Evaluation(double loss, double accuracy, long count, float[][] probabilities) {}

  private final PatchNet net;
  private final Collective collective;
  private final Optimizer optimizer;

  /** {@code optimizer} must be in the same state on every worker (as created, or restored). */
  public PatchTrainer(PatchNet net, Collective collective, Optimizer optimizer) {
    this.net = net;
    this.collective = collective;
    this.optimizer = optimizer;
  }

  public PatchNet net() {
    return net;
  }

  /**
   * One optimizer step on the global batch whose local part is {@code tiles} [b, 3, H, W] with
   * {@code labels}; {@code globalBatch} is the sum of b over workers (checked).
   *
   * @return the global batch's mean loss and accuracy, before the step
   */
  public Result step(INDArray tiles, int[] labels, int globalBatch) {
    Pass pass = backprop(tiles, labels, globalBatch, false);
    apply();
    return pass.result();
  }

  /** Sums the workers' gradients and takes the optimizer step, identically on every worker. */
  void apply() {
    float[] grad = net.gradients();
    collective.allReduceSum(grad);
    float[] params = net.parameters();
    optimizer.step(params, grad);
    net.setParameters(params);
  }

  /**
   * What one forward and backward produced locally, for tests to compare with PyTorch; {@code dx}
   * is null when the input gradient was not asked for.
   */
  record Pass(Result result, float[][] logits, INDArray dx) {}

  /** {@link #backprop(INDArray, int[], int, boolean)} with the input gradient. */
  Pass backprop(INDArray tiles, int[] labels, int globalBatch) {
    return backprop(tiles, labels, globalBatch, true);
  }

  /**
   * Zeroes the gradients, runs the training forward and backward of the global mean loss, and
   * leaves this worker's (not yet all-reduced) gradient in the net.
   */
  Pass backprop(INDArray tiles, int[] labels, int globalBatch, boolean inputGradient) {
    checkLabels(tiles, labels);
    net.zeroGrad();
    INDArray out = net.forward(tiles, true);
    float[][] logits = out.toFloatMatrix();
    out.close();
    float[][] probs = softmax(logits);
    double[] sums = crossEntropy(probs, labels);
    collective.allReduceSum(sums);
    if (sums[2] != globalBatch) {
      throw new IllegalArgumentException("globalBatch=" + globalBatch + " but the workers' batches"
          + " add up to " + (long) sums[2]);
    }
    // d(mean over the global batch)/dlogits: every worker divides by the global count.
    int classes = net.numClasses();
    float[] d = new float[labels.length * classes];
    for (int i = 0; i < labels.length; i++) {
      for (int c = 0; c < classes; c++) {
        double target = c == labels[i] ? 1 : 0;
        d[i * classes + c] = (float) ((probs[i][c] - target) / globalBatch);
      }
    }
    INDArray dLogits = Nd4j.create(d, new long[] {labels.length, classes}, 'c');
    INDArray dx = net.backward(dLogits, inputGradient);
    dLogits.close();
    net.release();
    return new Pass(new Result(sums[0] / globalBatch, sums[1] / globalBatch, globalBatch), logits,
        dx);
  }

  /**
   * Eval-mode loss and accuracy over all workers' {@code tiles}, and this worker's per-tile class
   * probabilities (for the E-step's pseudo-labels). Collective: every worker calls it together.
   */
  public Evaluation evaluate(INDArray tiles, int[] labels) {
    checkLabels(tiles, labels);
    INDArray logits = net.forward(tiles, false);
    float[][] probs = softmax(logits.toFloatMatrix());
    logits.close();
    net.release();
    double[] sums = crossEntropy(probs, labels);
    collective.allReduceSum(sums);
    double n = Math.max(1, sums[2]);
    return new Evaluation(sums[0] / n, sums[1] / n, (long) sums[2], probs);
  }

  /**
   * Eval-mode loss and accuracy of this worker's {@code tiles} alone, with no collective call:
   * for evaluation sets that workers hold in unequal parts, summed by the caller once at the end.
   */
  public static Result localLoss(PatchNet net, INDArray tiles, int[] labels) {
    INDArray logits = net.forward(tiles, false);
    float[][] probs = softmax(logits.toFloatMatrix());
    logits.close();
    net.release();
    double[] sums = crossEntropy(probs, labels);
    return new Result(sums[0] / Math.max(1, sums[2]), sums[1] / Math.max(1, sums[2]),
        (long) sums[2]);
  }

  private void checkLabels(INDArray tiles, int[] labels) {
    if (tiles.size(0) != labels.length) {
      throw new IllegalArgumentException(tiles.size(0) + " tiles but " + labels.length
          + " labels");
    }
    for (int label : labels) {
      if (label < 0 || label >= net.numClasses()) {
        throw new IllegalArgumentException("label " + label + " outside 0.." + (net.numClasses()
            - 1));
      }
    }
  }

  /** Row-wise softmax in double ({@link Losses#softmax}), returned as float. */
  private static float[][] softmax(float[][] logits) {
    float[][] z = new float[logits.length][];
    for (int i = 0; i < z.length; i++) {
      double[] row = new double[logits[i].length];
      for (int c = 0; c < row.length; c++) {
        row[c] = logits[i][c];
      }
      double[] p = Losses.softmax(row);
      z[i] = new float[p.length];
      for (int c = 0; c < p.length; c++) {
        z[i][c] = (float) p[c];
      }
    }
    return z;
  }

  /** Local [sum of -log p(label), correct count, tile count] for one all-reduce. */
  private static double[] crossEntropy(float[][] probs, int[] labels) {
    double loss = 0;
    double correct = 0;
    for (int i = 0; i < labels.length; i++) {
      loss -= Math.log(Math.max(probs[i][labels[i]], Float.MIN_NORMAL));
      int best = 0;
      for (int c = 1; c < probs[i].length; c++) {
        if (probs[i][c] > probs[i][best]) {
          best = c;
        }
      }
      correct += best == labels[i] ? 1 : 0;
    }
    return new double[] {loss, correct, labels.length};
  }
}
