package org.tessera.core.nn.patch;

import java.nio.FloatBuffer;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * max(x, 0); the gradient passes where the output is positive, as in PyTorch.
 *
 * <p>In place, as {@code ReLU(inplace=True)}: forward overwrites and returns its input, backward
 * its output gradient (the containers handle a module returning what it was given). Why: a fresh
 * native array above glibc's 32 MB mmap threshold costs a page fault per 4 KB page, about 0.2 s
 * for a small-cnn first-block activation, more than the pass itself; in PatchNet every ReLU
 * follows a batch norm or a residual sum, whose outputs nothing else reads. Plain Java over reused
 * heap chunks, since ND4J's relu, comparison and mask multiply took about a second per small-cnn
 * step on two threads. Backward reads the forward's output, which the containers keep alive
 * until then, instead of storing a mask.
 */
public final class ReLU implements Module {

  /** Floats per heap chunk: large enough for bulk copies, small enough for the cache. */
  private static final int CHUNK = 1 << 16;

  private static final ThreadLocal<float[][]> SCRATCH =
      ThreadLocal.withInitial(() -> new float[][] {new float[CHUNK], new float[CHUNK]});

  private INDArray output;

  @Override
  public INDArray forward(INDArray x, boolean training) {
    release();
    INDArray y = Activations.contiguous(x);
    float[] v = SCRATCH.get()[0];
    FloatBuffer in = y.data().asNioFloat();
    FloatBuffer out = in;
    long length = checkedLength(x);
    for (int from = 0; from < length; from += CHUNK) {
      int n = (int) Math.min(CHUNK, length - from);
      in.get(from, v, 0, n);
      for (int i = 0; i < n; i++) {
        // Passes NaN, as torch.relu does, and turns -0 into +0, which backward relies on.
        v[i] = Math.max(v[i], 0f);
      }
      out.put(from, v, 0, n);
    }
    if (training) {
      output = y;
    }
    return y;
  }

  @Override
  public INDArray backward(INDArray dy) {
    INDArray dx = Activations.contiguous(dy);
    float[][] scratch = SCRATCH.get();
    float[] g = scratch[0];
    float[] y = scratch[1];
    FloatBuffer gin = dx.data().asNioFloat();
    FloatBuffer yin = output.data().asNioFloat();
    FloatBuffer out = dx.data().asNioFloat();
    long length = checkedLength(dy);
    for (int from = 0; from < length; from += CHUNK) {
      int n = (int) Math.min(CHUNK, length - from);
      gin.get(from, g, 0, n);
      yin.get(from, y, 0, n);
      for (int i = 0; i < n; i++) {
        // Branch-free y > 0 (signs are random, so a branch mispredicts half the time): outputs
        // are +0, positive or NaN, i.e. bits 0, 1..0x7f800000, or above; keep the middle.
        int bits = Float.floatToRawIntBits(y[i]);
        int drop = ((bits - 1) | (0x7f800000 - bits)) >> 31;
        g[i] = Float.intBitsToFloat(Float.floatToRawIntBits(g[i]) & ~drop);
      }
      out.put(from, g, 0, n);
    }
    release();
    return dx;
  }

  private static long checkedLength(INDArray a) {
    if (a.dataType() != DataType.FLOAT || a.length() > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("relu needs a float array of at most 2^31 values, got "
          + a.dataType() + " " + Arrays.toString(a.shape()));
    }
    return a.length();
  }


  @Override
  public void release() {
    output = null;
  }
}
