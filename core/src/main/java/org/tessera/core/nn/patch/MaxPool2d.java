package org.tessera.core.nn.patch;

import java.nio.FloatBuffer;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.tessera.core.nn.Im2Col;

/**
 * PyTorch's {@code MaxPool2d(kernel, stride, padding)}: padding never wins the max, ties go to the
 * first maximum in row-major window order (NaN to the last NaN), and the gradient goes to that
 * maximum.
 *
 * <p>Plain Java over one image at a time on the heap: libnd4j's {@code maxpool2d_bp} recomputes
 * every window and took most of a second per small-cnn step. Forward keeps each output's winning
 * window position (one byte) so that backward is a scatter.
 */
public final class MaxPool2d implements Module {

  /** Reused heap buffers per thread (one input image, one output image). */
  private static final ThreadLocal<float[][]> SCRATCH =
      ThreadLocal.withInitial(() -> new float[][] {new float[0], new float[0]});

  private final int kernel;
  private final int stride;
  private final int padding;
  private long[] inputShape;
  private byte[] argmax;

  public MaxPool2d(int kernel, int stride, int padding) {
    if (kernel * kernel > Byte.MAX_VALUE || padding * 2 > kernel) {
      throw new IllegalArgumentException("max pool kernel " + kernel + " padding " + padding
          + ": needs kernel² <= 127 and padding <= kernel/2");
    }
    this.kernel = kernel;
    this.stride = stride;
    this.padding = padding;
  }

  @Override
  public INDArray forward(INDArray x, boolean training) {
    long[] s = x.shape();
    if (x.rank() != 4 || x.dataType() != DataType.FLOAT) {
      throw new IllegalArgumentException("max pool needs float NCHW input, got " + x.dataType()
          + " " + Arrays.toString(s));
    }
    int batch = (int) s[0];
    int planes = (int) s[1];
    int h = (int) s[2];
    int w = (int) s[3];
    int oh = Im2Col.outSize(h, kernel, stride, padding);
    int ow = Im2Col.outSize(w, kernel, stride, padding);
    INDArray xc = Activations.contiguous(x);
    INDArray y = Activations.create(batch, planes, oh, ow);
    byte[] arg = new byte[batch * planes * oh * ow];
    float[][] scratch = scratch(planes * h * w, planes * oh * ow);
    float[] in = scratch[0];
    float[] out = scratch[1];
    FloatBuffer src = xc.data().asNioFloat();
    FloatBuffer dst = y.data().asNioFloat();
    int inSize = planes * h * w;
    int outSize = planes * oh * ow;
    for (int b = 0; b < batch; b++) {
      src.get(b * inSize, in, 0, inSize);
      int o = 0;
      for (int p = 0; p < planes; p++) {
        int plane = p * h * w;
        for (int oy = 0; oy < oh; oy++) {
          int y0 = oy * stride - padding;
          int kyFrom = Math.max(0, -y0);
          int kyTo = Math.min(kernel, h - y0);
          for (int ox = 0; ox < ow; ox++, o++) {
            int x0 = ox * stride - padding;
            int kxFrom = Math.max(0, -x0);
            int kxTo = Math.min(kernel, w - x0);
            // As PyTorch: start at -inf on the first pixel, move on v > best or NaN. Selects
            // rather than branches, since which pixel wins is unpredictable.
            float best = Float.NEGATIVE_INFINITY;
            int bestAt = kyFrom * kernel + kxFrom;
            for (int ky = kyFrom; ky < kyTo; ky++) {
              int row = plane + (y0 + ky) * w + x0;
              for (int kx = kxFrom; kx < kxTo; kx++) {
                float v = in[row + kx];
                boolean wins = v > best || v != v;
                best = wins ? v : best;
                bestAt = wins ? ky * kernel + kx : bestAt;
              }
            }
            out[o] = best;
            arg[b * outSize + o] = (byte) bestAt;
          }
        }
      }
      dst.put(b * outSize, out, 0, outSize);
    }
    if (xc != x) {
      xc.close();
    }
    if (training) {
      inputShape = s;
      argmax = arg;
    }
    return y;
  }

  @Override
  public INDArray backward(INDArray dy) {
    int batch = (int) inputShape[0];
    int planes = (int) inputShape[1];
    int h = (int) inputShape[2];
    int w = (int) inputShape[3];
    int oh = Im2Col.outSize(h, kernel, stride, padding);
    int ow = Im2Col.outSize(w, kernel, stride, padding);
    int inSize = planes * h * w;
    int outSize = planes * oh * ow;
    INDArray dyc = Activations.contiguous(dy);
    INDArray dx = Activations.create(inputShape);
    float[][] scratch = scratch(inSize, outSize);
    float[] g = scratch[0];
    float[] d = scratch[1];
    FloatBuffer src = dyc.data().asNioFloat();
    FloatBuffer dst = dx.data().asNioFloat();
    for (int b = 0; b < batch; b++) {
      src.get(b * outSize, d, 0, outSize);
      Arrays.fill(g, 0, inSize, 0f);
      int o = 0;
      for (int p = 0; p < planes; p++) {
        int plane = p * h * w;
        for (int oy = 0; oy < oh; oy++) {
          for (int ox = 0; ox < ow; ox++, o++) {
            int at = argmax[b * outSize + o];
            int iy = oy * stride + at / kernel - padding;
            int ix = ox * stride + at % kernel - padding;
            g[plane + iy * w + ix] += d[o];
          }
        }
      }
      dst.put(b * inSize, g, 0, inSize);
    }
    if (dyc != dy) {
      dyc.close();
    }
    release();
    return dx;
  }

  private static float[][] scratch(int in, int out) {
    float[][] scratch = SCRATCH.get();
    if (scratch[0].length < in) {
      scratch[0] = new float[in];
    }
    if (scratch[1].length < out) {
      scratch[1] = new float[out];
    }
    return scratch;
  }


  @Override
  public void release() {
    argmax = null;
    inputShape = null;
  }
}
