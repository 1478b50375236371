package org.tessera.core.nn.patch;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.tessera.core.nn.Im2Col;

/**
 * PyTorch's {@code Conv2d(bias=False, padding=kernel/2)}: OIHW weights, NCHW activations.
 *
 * <p>Each image is one GEMM against the weights, {@code y = W[O, C*k*k] x cols[C*k*k, oh*ow]},
 * with the columns unfolded in Java ({@link Im2Col}) rather than by libnd4j's {@code conv2d}
 * ops, whose {@code im2col} is several times slower than the GEMMs on this build and made a
 * small-cnn training step take tens of seconds. Backward unfolds each image again (cheaper than
 * keeping every layer's columns, which grow to gigabytes for resnet50-trunc batches) for
 * {@code dW += dy x colsᵀ}, and folds {@code Wᵀ x dy} back onto the image for the input
 * gradient. 1x1 stride-1 convolutions use the image itself as its columns.
 */
public final class Conv2d implements Module {

  /**
   * Reused heap buffers per thread (one image, its columns), grown to the largest layer seen:
   * fresh memory is expensive to touch, far more than copying into it.
   */
  private static final ThreadLocal<float[][]> SCRATCH =
      ThreadLocal.withInitial(() -> new float[][] {new float[0], new float[0]});

  private final Param weight;
  private final int[] kernel;
  private final int[] stride;
  private final int[] padding;
  private boolean inputGradient = true;
  private INDArray input;

  /** Zero weights until {@link PatchNet} fills them from a state dict. */
  public Conv2d(String name, int in, int out, int kernel, int stride) {
    long[] shape = {out, in, kernel, kernel};
    this.weight = new Param(name + ".weight", Nd4j.zeros(DataType.FLOAT, shape),
        Nd4j.zeros(DataType.FLOAT, shape));
    this.kernel = new int[] {kernel, kernel};
    this.stride = new int[] {stride, stride};
    this.padding = new int[] {kernel / 2, kernel / 2};
  }

  /**
   * Off makes {@link #backward} compute only the weight gradient and return null: the network's
   * first convolution, whose input gradient (the tiles') a training step does not use.
   */
  void setInputGradient(boolean on) {
    inputGradient = on;
  }

  @Override
  public INDArray forward(INDArray x, boolean training) {
    Geometry g = new Geometry(x, weight.shape(), kernel, stride, padding);
    INDArray xc = Activations.contiguous(x);
    INDArray y = Activations.create(g.batch, g.out, g.oh, g.ow);
    INDArray w2 = weight.value().reshape('c', g.out, g.rows);
    INDArray col = g.inPlace ? null : Activations.create(g.rows, g.n);
    for (int b = 0; b < g.batch; b++) {
      INDArray cols = g.inPlace ? image(xc, b, g.c, g.h * g.w) : unfold(xc, b, g, col);
      Nd4j.gemm(w2, cols, image(y, b, g.out, g.n), false, false, 1.0, 0.0);
    }
    Activations.release(col);
    if (xc != x) {
      xc.close();
    }
    input = x;
    return y;
  }

  @Override
  public INDArray backward(INDArray dy) {
    Geometry g = new Geometry(input, weight.shape(), kernel, stride, padding);
    INDArray xc = Activations.contiguous(input);
    INDArray dyc = Activations.contiguous(dy);
    INDArray w2 = weight.value().reshape('c', g.out, g.rows);
    INDArray dw2 = weight.grad().reshape('c', g.out, g.rows);
    INDArray dx = inputGradient ? Activations.create(input.shape()) : null;
    INDArray col = g.inPlace ? null : Activations.create(g.rows, g.n);
    INDArray dcol = g.inPlace || dx == null ? null
        : Activations.create(g.rows, g.n);
    float[][] scratch = SCRATCH.get();
    for (int b = 0; b < g.batch; b++) {
      INDArray dyImg = image(dyc, b, g.out, g.n);
      INDArray cols = g.inPlace ? image(xc, b, g.c, g.h * g.w) : unfold(xc, b, g, col);
      Nd4j.gemm(dyImg, cols, dw2, false, true, 1.0, 1.0);
      if (dx == null) {
        continue;
      }
      if (g.inPlace) {
        Nd4j.gemm(w2, dyImg, image(dx, b, g.c, g.h * g.w), true, false, 1.0, 0.0);
        continue;
      }
      Nd4j.gemm(w2, dyImg, dcol, true, false, 1.0, 0.0);
      int size = g.c * g.h * g.w;
      float[] img = scratch[0];
      float[] colBuf = scratch[1];
      dcol.data().asNioFloat().get(0, colBuf, 0, g.rows * g.n);
      Arrays.fill(img, 0, size, 0f);
      Im2Col.fold(colBuf, g.c, g.h, g.w, kernel, stride, padding, img, 0);
      dx.data().asNioFloat().put(b * size, img, 0, size);
    }
    Activations.release(col);
    Activations.release(dcol);
    if (xc != input) {
      xc.close();
    }
    if (dyc != dy) {
      dyc.close();
    }
    input = null;
    return dx;
  }

  /** Image {@code b} of a contiguous NCHW array as a [rows, cols] view. */
  private static INDArray image(INDArray a, int b, long rows, long cols) {
    return a.slice(b).reshape('c', rows, cols);
  }

  /** Unfolds image {@code b} of {@code x} through the heap scratch into {@code col}. */
  private INDArray unfold(INDArray x, int b, Geometry g, INDArray col) {
    float[][] scratch = SCRATCH.get();
    int size = g.c * g.h * g.w;
    if (scratch[0].length < size) {
      scratch[0] = new float[size];
    }
    if (scratch[1].length < g.rows * g.n) {
      scratch[1] = new float[g.rows * g.n];
    }
    x.data().asNioFloat().get(b * size, scratch[0], 0, size);
    Im2Col.unfold(scratch[0], 0, g.c, g.h, g.w, kernel, stride, padding, scratch[1]);
    col.data().asNioFloat().put(0, scratch[1], 0, g.rows * g.n);
    return col;
  }


  /** Sizes of one convolution of an NCHW batch. */
  private static final class Geometry {
    final int batch;
    final int c;
    final int h;
    final int w;
    final int out;
    final int oh;
    final int ow;
    final int rows;
    final int n;
    final boolean inPlace;

    Geometry(INDArray x, long[] weightShape, int[] k, int[] s, int[] p) {
      long[] shape = x.shape();
      if (x.rank() != 4 || x.dataType() != DataType.FLOAT || shape[1] != weightShape[1]) {
        throw new IllegalArgumentException("conv2d with weights " + Arrays.toString(weightShape)
            + " needs float NCHW input with " + weightShape[1] + " channels, got "
            + x.dataType() + " " + Arrays.toString(shape));
      }
      batch = (int) shape[0];
      c = (int) shape[1];
      h = (int) shape[2];
      w = (int) shape[3];
      out = (int) weightShape[0];
      oh = Im2Col.outSize(h, k[0], s[0], p[0]);
      ow = Im2Col.outSize(w, k[1], s[1], p[1]);
      rows = c * k[0] * k[1];
      n = oh * ow;
      inPlace = k[0] == 1 && s[0] == 1 && p[0] == 0;
      if ((long) batch * Math.max(c * h * w, this.out * n) > Integer.MAX_VALUE
          || (long) rows * n > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("conv2d batch " + Arrays.toString(shape)
            + " is too large for int-indexed buffers: use smaller batches");
      }
    }
  }

  @Override
  public void collect(List<Param> params, List<Param> buffers) {
    params.add(weight);
  }

  @Override
  public void release() {
    input = null;
  }
}
