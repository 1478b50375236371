package org.tessera.core.nn.patch;

import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Broadcast;
import org.nd4j.linalg.factory.Nd4j;
import org.tessera.core.collective.Collective;

/**
 * PyTorch's {@code BatchNorm2d} (eps 1e-5, momentum 0.1) made synchronous like
 * {@code SyncBatchNorm}: in training every worker normalises with the mean and biased variance of
 * the global batch, so K workers with batch b compute what one worker computes with batch K·b.
 *
 * <p>Forward all-reduces per-channel sums of x and x² (in double) and the element count; backward
 * all-reduces per-channel sums of dy and dy·x̂, because x̂ depends on every worker's input through
 * the global statistics. Parameter gradients stay local sums (the trainer's gradient all-reduce
 * adds them). Running statistics take the unbiased global variance, as torch's do.
 */
public final class BatchNorm2d implements Module {

  static final double EPS = 1e-5;
  static final double MOMENTUM = 0.1;

  private final Param gamma;
  private final Param beta;
  private final Param runningMean;
  private final Param runningVar;
  private final Collective collective;
  private final int channels;
  private boolean syncBackward = true;
  private INDArray xhat;
  private double[] invStd;
  /** Values per channel in the last training forward's global batch. */
  private double globalCount;

  /** Identity transform (γ = 1, β = 0, mean 0, variance 1) until a state dict fills it. */
  public BatchNorm2d(String name, int channels, Collective collective) {
    this.channels = channels;
    this.collective = collective;
    this.gamma = new Param(name + ".weight", Nd4j.ones(DataType.FLOAT, channels),
        Nd4j.zeros(DataType.FLOAT, channels));
    this.beta = new Param(name + ".bias", Nd4j.zeros(DataType.FLOAT, channels),
        Nd4j.zeros(DataType.FLOAT, channels));
    this.runningMean = new Param(name + ".running_mean", Nd4j.zeros(DataType.FLOAT, channels),
        null);
    this.runningVar = new Param(name + ".running_var", Nd4j.ones(DataType.FLOAT, channels), null);
  }

  /**
   * Off makes backward use this worker's own sums and count, i.e. unsynchronised BN gradients
   * with synchronised statistics: only for tests that must show they detect the difference.
   */
  void setSyncBackward(boolean on) {
    syncBackward = on;
  }

  @Override
  public INDArray forward(INDArray x, boolean training) {
    release();
    return training ? forwardTraining(x) : forwardEval(x);
  }

  private INDArray forwardEval(INDArray x) {
    float[] g = gamma.value().toFloatVector();
    float[] b = beta.value().toFloatVector();
    float[] mean = runningMean.value().toFloatVector();
    float[] var = runningVar.value().toFloatVector();
    float[] scale = new float[channels];
    float[] shift = new float[channels];
    for (int c = 0; c < channels; c++) {
      double s = g[c] / Math.sqrt(var[c] + EPS);
      scale[c] = (float) s;
      shift[c] = (float) (b[c] - mean[c] * s);
    }
    return affine(x, scale, shift);
  }

  private INDArray forwardTraining(INDArray x) {
    INDArray xd = x.castTo(DataType.DOUBLE);
    INDArray sum = xd.sum(0, 2, 3);
    INDArray sumSq = xd.muli(xd).sum(0, 2, 3);
    double[] stats = new double[2 * channels + 1];
    System.arraycopy(sum.toDoubleVector(), 0, stats, 0, channels);
    System.arraycopy(sumSq.toDoubleVector(), 0, stats, channels, channels);
    stats[2 * channels] = (double) x.length() / channels;
    xd.close();
    sum.close();
    sumSq.close();
    collective.allReduceSum(stats);
    double n = stats[2 * channels];
    globalCount = n;
    if (n < 2) {
      throw new IllegalArgumentException("batch norm " + gamma.name() + ": the global batch has "
          + (long) n + " value(s) per channel; training needs at least 2");
    }
    invStd = new double[channels];
    float[] scale = new float[channels];
    float[] shift = new float[channels];
    float[] oldMean = runningMean.value().toFloatVector();
    float[] oldVar = runningVar.value().toFloatVector();
    float[] newMean = new float[channels];
    float[] newVar = new float[channels];
    for (int c = 0; c < channels; c++) {
      double mean = stats[c] / n;
      // E[x²] - E[x]² in double loses nothing that matters at activation scales.
      double var = Math.max(0, stats[channels + c] / n - mean * mean);
      invStd[c] = 1 / Math.sqrt(var + EPS);
      scale[c] = (float) invStd[c];
      shift[c] = (float) (-mean * invStd[c]);
      newMean[c] = (float) ((1 - MOMENTUM) * oldMean[c] + MOMENTUM * mean);
      newVar[c] = (float) ((1 - MOMENTUM) * oldVar[c] + MOMENTUM * var * n / (n - 1));
    }
    runningMean.value().assign(Nd4j.createFromArray(newMean));
    runningVar.value().assign(Nd4j.createFromArray(newVar));
    xhat = affine(x, scale, shift);
    INDArray y = Broadcast.mul(xhat, gamma.value(), Nd4j.createUninitialized(DataType.FLOAT,
        x.shape()), 1);
    return Broadcast.add(y, beta.value(), y, 1);
  }

  /** x · scale[c] + shift[c] per channel, into a new array. */
  private static INDArray affine(INDArray x, float[] scale, float[] shift) {
    INDArray s = Nd4j.createFromArray(scale);
    INDArray t = Nd4j.createFromArray(shift);
    INDArray y = Broadcast.mul(x, s, Nd4j.createUninitialized(DataType.FLOAT, x.shape()), 1);
    Broadcast.add(y, t, y, 1);
    s.close();
    t.close();
    return y;
  }

  @Override
  public INDArray backward(INDArray dy) {
    INDArray dyd = dy.castTo(DataType.DOUBLE);
    INDArray xd = xhat.castTo(DataType.DOUBLE);
    INDArray sumDy = dyd.sum(0, 2, 3);
    INDArray sumDyXhat = dyd.muli(xd).sum(0, 2, 3);
    double[] sums = new double[2 * channels];
    System.arraycopy(sumDy.toDoubleVector(), 0, sums, 0, channels);
    System.arraycopy(sumDyXhat.toDoubleVector(), 0, sums, channels, channels);
    dyd.close();
    xd.close();
    sumDy.close();
    sumDyXhat.close();
    float[] dGamma = new float[channels];
    float[] dBeta = new float[channels];
    for (int c = 0; c < channels; c++) {
      dBeta[c] = (float) sums[c];
      dGamma[c] = (float) sums[channels + c];
    }
    addTo(gamma.grad(), dGamma);
    addTo(beta.grad(), dBeta);
    double n = (double) dy.length() / channels;
    if (syncBackward) {
      collective.allReduceSum(sums);
      n = globalCount;
    }
    // dx = γ/σ · (dy − Σdy/N − x̂ · Σ(dy·x̂)/N), as scale·dy + xhatScale·x̂ + shift per channel.
    float[] g = gamma.value().toFloatVector();
    float[] scale = new float[channels];
    float[] xhatScale = new float[channels];
    float[] shift = new float[channels];
    for (int c = 0; c < channels; c++) {
      double k = g[c] * invStd[c];
      scale[c] = (float) k;
      xhatScale[c] = (float) (-k * sums[channels + c] / n);
      shift[c] = (float) (-k * sums[c] / n);
    }
    INDArray dx = affine(dy, scale, shift);
    INDArray s = Nd4j.createFromArray(xhatScale);
    INDArray term = Broadcast.mul(xhat, s, Nd4j.createUninitialized(DataType.FLOAT,
        xhat.shape()), 1);
    dx.addi(term);
    term.close();
    s.close();
    release();
    return dx;
  }

  private static void addTo(INDArray target, float[] values) {
    INDArray v = Nd4j.createFromArray(values);
    target.addi(v);
    v.close();
  }

  @Override
  public void collect(List<Param> params, List<Param> buffers) {
    params.add(gamma);
    params.add(beta);
    buffers.add(runningMean);
    buffers.add(runningVar);
  }

  @Override
  public void release() {
    if (xhat != null) {
      xhat.close();
      xhat = null;
    }
  }
}
