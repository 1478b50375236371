package org.tessera.core.nn;

import java.util.Arrays;

/**
 * Unfolding of one CHW image into GEMM columns and its adjoint, in plain Java on heap arrays.
 *
 * <p>Why: in nd4j-native 1.0.0-M2.1 without oneDNN, libnd4j's {@code im2col} (behind DL4J's
 * convolution and the {@code conv2d}/{@code conv2d_bp} ops) runs at a few hundred MB/s, several
 * times slower than the GEMM it feeds; these loops copy whole rows with {@link System#arraycopy}.
 * Used by {@link FastConvolution}'s inference pass and by the trainable patch network's
 * convolution. Columns are {@code [c*kh*kw, oh*ow]} rows in OIHW weight order, so a convolution
 * is {@code W[O, c*kh*kw] x cols}.
 */
public final class Im2Col {

  private Im2Col() {}

  /** Output size along one axis. */
  public static int outSize(int in, int kernel, int stride, int padding) {
    return (in + 2 * padding - kernel) / stride + 1;
  }

  /**
   * Writes the columns of the image at {@code img[offset..]} into {@code col}, zero where the
   * kernel overhangs the padded border.
   */
  public static void unfold(float[] img, int offset, int c, int h, int w, int[] k, int[] s,
      int[] p, float[] col) {
    int oh = outSize(h, k[0], s[0], p[0]);
    int ow = outSize(w, k[1], s[1], p[1]);
    int n = oh * ow;
    int row = 0;
    for (int ch = 0; ch < c; ch++) {
      for (int kh = 0; kh < k[0]; kh++) {
        for (int kw = 0; kw < k[1]; kw++, row++) {
          int shift = kw - p[1];
          int first = firstColumn(shift, s[1]);
          int last = lastColumn(shift, s[1], w, ow);
          for (int y = 0; y < oh; y++) {
            int dst = row * n + y * ow;
            int iy = y * s[0] + kh - p[0];
            if (iy < 0 || iy >= h || first >= last) {
              Arrays.fill(col, dst, dst + ow, 0f);
              continue;
            }
            Arrays.fill(col, dst, dst + first, 0f);
            Arrays.fill(col, dst + last, dst + ow, 0f);
            int src = offset + (ch * h + iy) * w + shift;
            if (s[1] == 1) {
              System.arraycopy(img, src + first, col, dst + first, last - first);
            } else {
              for (int x = first; x < last; x++) {
                col[dst + x] = img[src + x * s[1]];
              }
            }
          }
        }
      }
    }
  }

  /**
   * The adjoint of {@link #unfold}: adds every column entry onto the image pixel it was read
   * from (the input gradient of a convolution from the gradient of its columns). {@code img}
   * must hold the values to add onto, zeros for a fresh gradient.
   */
  public static void fold(float[] col, int c, int h, int w, int[] k, int[] s, int[] p,
      float[] img, int offset) {
    int oh = outSize(h, k[0], s[0], p[0]);
    int ow = outSize(w, k[1], s[1], p[1]);
    int n = oh * ow;
    int row = 0;
    for (int ch = 0; ch < c; ch++) {
      for (int kh = 0; kh < k[0]; kh++) {
        for (int kw = 0; kw < k[1]; kw++, row++) {
          int shift = kw - p[1];
          int first = firstColumn(shift, s[1]);
          int last = lastColumn(shift, s[1], w, ow);
          for (int y = 0; y < oh; y++) {
            int iy = y * s[0] + kh - p[0];
            if (iy < 0 || iy >= h) {
              continue;
            }
            int src = row * n + y * ow;
            int dst = offset + (ch * h + iy) * w + shift;
            if (s[1] == 1) {
              for (int x = first; x < last; x++) {
                img[dst + x] += col[src + x];
              }
            } else {
              for (int x = first; x < last; x++) {
                img[dst + x * s[1]] += col[src + x];
              }
            }
          }
        }
      }
    }
  }

  /** The first output column whose input column {@code x*stride + shift} is inside the image. */
  private static int firstColumn(int shift, int stride) {
    return Math.max(0, Math.floorDiv(-shift + stride - 1, stride));
  }

  /** One past the last output column whose input column lies inside the image. */
  private static int lastColumn(int shift, int stride, int w, int ow) {
    return Math.min(ow, Math.floorDiv(w - 1 - shift, stride) + 1);
  }
}
