package org.tessera.core.nn.patch;

import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
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
  /** The last training forward's input (owned by the caller, alive until backward). */
  private INDArray input;
  private double[] mean;
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
    Planes p = new Planes(x, channels);
    INDArray y = Activations.create(x.shape());
    p.affine(p.x, null, scale, null, shift, y);
    p.close();
    return y;
  }

  private INDArray forwardTraining(INDArray x) {
    Planes p = new Planes(x, channels);
    double[] stats = new double[2 * channels + 1];
    p.sums(p.x, null, stats);
    stats[2 * channels] = (double) x.length() / channels;
    collective.allReduceSum(stats);
    double n = stats[2 * channels];
    globalCount = n;
    if (n < 2) {
      p.close();
      throw new IllegalArgumentException("batch norm " + gamma.name() + ": the global batch has "
          + (long) n + " value(s) per channel; training needs at least 2");
    }
    mean = new double[channels];
    invStd = new double[channels];
    float[] g = gamma.value().toFloatVector();
    float[] b = beta.value().toFloatVector();
    float[] scale = new float[channels];
    float[] shift = new float[channels];
    float[] oldMean = runningMean.value().toFloatVector();
    float[] oldVar = runningVar.value().toFloatVector();
    float[] newMean = new float[channels];
    float[] newVar = new float[channels];
    for (int c = 0; c < channels; c++) {
      mean[c] = stats[c] / n;
      // E[x²] - E[x]² in double loses nothing that matters at activation scales.
      double var = Math.max(0, stats[channels + c] / n - mean[c] * mean[c]);
      invStd[c] = 1 / Math.sqrt(var + EPS);
      scale[c] = (float) (g[c] * invStd[c]);
      shift[c] = (float) (b[c] - g[c] * mean[c] * invStd[c]);
      newMean[c] = (float) ((1 - MOMENTUM) * oldMean[c] + MOMENTUM * mean[c]);
      newVar[c] = (float) ((1 - MOMENTUM) * oldVar[c] + MOMENTUM * var * n / (n - 1));
    }
    runningMean.value().assign(Nd4j.createFromArray(newMean));
    runningVar.value().assign(Nd4j.createFromArray(newVar));
    INDArray y = Activations.create(x.shape());
    p.affine(p.x, null, scale, null, shift, y);
    p.close();
    input = x;
    return y;
  }

  @Override
  public INDArray backward(INDArray dy) {
    Planes p = new Planes(input, channels);
    INDArray dyc = Activations.contiguous(dy);
    // Σdy and Σdy·x per channel, then Σdy·x̂ = (Σdy·x − mean·Σdy) / σ.
    double[] sums = new double[2 * channels];
    p.sums(dyc, p.x, sums);
    for (int c = 0; c < channels; c++) {
      sums[channels + c] = (sums[channels + c] - mean[c] * sums[c]) * invStd[c];
    }
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
    // dx = γ/σ · (dy − Σdy/N − x̂ · Σ(dy·x̂)/N) with x̂ = (x − mean)/σ, as dyScale·dy + xScale·x
    // + shift per channel.
    float[] g = gamma.value().toFloatVector();
    float[] dyScale = new float[channels];
    float[] xScale = new float[channels];
    float[] shift = new float[channels];
    for (int c = 0; c < channels; c++) {
      double k = g[c] * invStd[c];
      double xhatScale = -k * sums[channels + c] / n;
      dyScale[c] = (float) k;
      xScale[c] = (float) (xhatScale * invStd[c]);
      shift[c] = (float) (-k * sums[c] / n - xhatScale * invStd[c] * mean[c]);
    }
    INDArray dx = Activations.create(input.shape());
    p.affine(dyc, p.x, dyScale, xScale, shift, dx);
    if (dyc != dy) {
      dyc.close();
    }
    p.close();
    release();
    return dx;
  }

  private static void addTo(INDArray target, float[] values) {
    INDArray v = Nd4j.createFromArray(values);
    target.addi(v);
    v.close();
  }

  /**
   * Per-channel passes over an NCHW batch, one image at a time through reused heap buffers: the
   * equivalent ND4J broadcasts and double reductions took seconds per small-cnn step.
   */
  private static final class Planes implements AutoCloseable {

    private static final ThreadLocal<float[][]> SCRATCH =
        ThreadLocal.withInitial(() -> new float[][] {new float[0], new float[0]});

    final INDArray x;
    private final INDArray given;
    private final int batch;
    private final int channels;
    private final int plane;

    Planes(INDArray x, int channels) {
      long[] s = x.shape();
      if (x.rank() != 4 || s[1] != channels || x.dataType() != DataType.FLOAT) {
        throw new IllegalArgumentException("batch norm over " + channels + " channels needs float "
            + "NCHW input, got " + x.dataType() + " " + Arrays.toString(s));
      }
      if (x.length() > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("batch norm input " + Arrays.toString(s)
            + " is too large for int-indexed buffers: use smaller batches");
      }
      this.given = x;
      this.x = Activations.contiguous(x);
      this.batch = (int) s[0];
      this.channels = channels;
      this.plane = (int) (s[2] * s[3]);
      float[][] scratch = SCRATCH.get();
      for (int i = 0; i < 2; i++) {
        if (scratch[i].length < channels * plane) {
          scratch[i] = new float[channels * plane];
        }
      }
    }


    /**
     * Adds Σa and Σa·b (Σa² without {@code b}) per channel to {@code out[c]} and
     * {@code out[channels + c]}.
     */
    void sums(INDArray a, INDArray b, double[] out) {
      float[][] scratch = SCRATCH.get();
      float[] va = scratch[0];
      float[] vb = b == null ? va : scratch[1];
      int size = channels * plane;
      for (int i = 0; i < batch; i++) {
        a.data().asNioFloat().get(i * size, va, 0, size);
        if (b != null) {
          b.data().asNioFloat().get(i * size, vb, 0, size);
        }
        for (int c = 0; c < channels; c++) {
          double s = 0;
          double sp = 0;
          for (int j = c * plane, end = j + plane; j < end; j++) {
            s += va[j];
            sp += (double) va[j] * vb[j];
          }
          out[c] += s;
          out[channels + c] += sp;
        }
      }
    }

    /** out = a·aScale[c] + b·bScale[c] + shift[c] ({@code b} optional). */
    void affine(INDArray a, INDArray b, float[] aScale, float[] bScale, float[] shift,
        INDArray out) {
      float[][] scratch = SCRATCH.get();
      float[] va = scratch[0];
      float[] vb = scratch[1];
      int size = channels * plane;
      for (int i = 0; i < batch; i++) {
        a.data().asNioFloat().get(i * size, va, 0, size);
        if (b != null) {
          b.data().asNioFloat().get(i * size, vb, 0, size);
        }
        for (int c = 0; c < channels; c++) {
          float sa = aScale[c];
          float t = shift[c];
          int j = c * plane;
          int end = j + plane;
          if (b == null) {
            for (; j < end; j++) {
              va[j] = va[j] * sa + t;
            }
          } else {
            float sb = bScale[c];
            for (; j < end; j++) {
              va[j] = va[j] * sa + vb[j] * sb + t;
            }
          }
        }
        out.data().asNioFloat().put(i * size, va, 0, size);
      }
    }

    @Override
    public void close() {
      if (x != given) {
        x.close();
      }
    }
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
    input = null;
  }
}
