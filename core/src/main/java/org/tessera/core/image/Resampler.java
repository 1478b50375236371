package org.tessera.core.image;

import java.awt.image.BufferedImage;

/**
 * Deterministic RGB resampling for tiles whose pyramid level is not exactly the target resolution.
 * Shrinking uses exact area averaging (each output pixel is the mean of the source area it covers,
 * with fractional weights at the borders), which does not alias the way nearest or bilinear
 * sampling does on 2x-4x reductions; enlarging uses bilinear interpolation at pixel centres.
 */
public final class Resampler {
  private Resampler() {}

  public static BufferedImage resize(BufferedImage src, int outW, int outH) {
    int srcW = src.getWidth();
    int srcH = src.getHeight();
    int[] in = src.getRGB(0, 0, srcW, srcH, null, 0, srcW);
    return PackedRgb.image(resize(in, srcW, srcH, outW, outH), outW, outH);
  }

  /** Resizes packed 0xRRGGBB pixels (alpha ignored). */
  public static int[] resize(int[] in, int srcW, int srcH, int outW, int outH) {
    if (outW <= 0 || outH <= 0) {
      throw new IllegalArgumentException("output size must be positive, got " + outW + "x" + outH);
    }
    if (srcW == outW && srcH == outH) {
      return in.clone();
    }
    if (outW <= srcW && outH <= srcH) {
      return area(in, srcW, srcH, outW, outH);
    }
    return bilinear(in, srcW, srcH, outW, outH);
  }

  private static int[] area(int[] in, int srcW, int srcH, int outW, int outH) {
    // Separable box filter: first along x into float rows, then along y.
    float[][] weightsX = new float[outW][];
    int[] startX = new int[outW];
    spans(srcW, outW, startX, weightsX);
    float[][] weightsY = new float[outH][];
    int[] startY = new int[outH];
    spans(srcH, outH, startY, weightsY);

    float[] tmp = new float[3 * outW * srcH];
    for (int y = 0; y < srcH; y++) {
      int row = y * srcW;
      for (int ox = 0; ox < outW; ox++) {
        float r = 0, g = 0, b = 0;
        float[] w = weightsX[ox];
        int sx = startX[ox];
        for (int k = 0; k < w.length; k++) {
          int p = in[row + sx + k];
          r += w[k] * ((p >> 16) & 0xff);
          g += w[k] * ((p >> 8) & 0xff);
          b += w[k] * (p & 0xff);
        }
        int t = 3 * (y * outW + ox);
        tmp[t] = r;
        tmp[t + 1] = g;
        tmp[t + 2] = b;
      }
    }
    int[] out = new int[outW * outH];
    for (int oy = 0; oy < outH; oy++) {
      float[] w = weightsY[oy];
      int sy = startY[oy];
      for (int ox = 0; ox < outW; ox++) {
        float r = 0, g = 0, b = 0;
        for (int k = 0; k < w.length; k++) {
          int t = 3 * ((sy + k) * outW + ox);
          r += w[k] * tmp[t];
          g += w[k] * tmp[t + 1];
          b += w[k] * tmp[t + 2];
        }
        out[oy * outW + ox] = (clamp(r) << 16) | (clamp(g) << 8) | clamp(b);
      }
    }
    return out;
  }

  /** For each output pixel, the first source pixel it covers and the normalised coverage weights. */
  private static void spans(int src, int dst, int[] start, float[][] weights) {
    double scale = (double) src / dst;
    for (int o = 0; o < dst; o++) {
      double lo = o * scale;
      double hi = Math.min(src, (o + 1) * scale);
      int first = (int) Math.floor(lo);
      int last = Math.min(src - 1, (int) Math.ceil(hi) - 1);
      float[] w = new float[last - first + 1];
      for (int s = first; s <= last; s++) {
        double cover = Math.min(hi, s + 1) - Math.max(lo, s);
        w[s - first] = (float) (cover / scale);
      }
      start[o] = first;
      weights[o] = w;
    }
  }

  private static int[] bilinear(int[] in, int srcW, int srcH, int outW, int outH) {
    int[] out = new int[outW * outH];
    double sx = (double) srcW / outW;
    double sy = (double) srcH / outH;
    for (int oy = 0; oy < outH; oy++) {
      double fy = Math.max(0, Math.min(srcH - 1, (oy + 0.5) * sy - 0.5));
      int y0 = (int) fy;
      int y1 = Math.min(srcH - 1, y0 + 1);
      double wy = fy - y0;
      for (int ox = 0; ox < outW; ox++) {
        double fx = Math.max(0, Math.min(srcW - 1, (ox + 0.5) * sx - 0.5));
        int x0 = (int) fx;
        int x1 = Math.min(srcW - 1, x0 + 1);
        double wx = fx - x0;
        int p00 = in[y0 * srcW + x0];
        int p01 = in[y0 * srcW + x1];
        int p10 = in[y1 * srcW + x0];
        int p11 = in[y1 * srcW + x1];
        int rgb = 0;
        for (int shift = 16; shift >= 0; shift -= 8) {
          double top = ((p00 >> shift) & 0xff) * (1 - wx) + ((p01 >> shift) & 0xff) * wx;
          double bottom = ((p10 >> shift) & 0xff) * (1 - wx) + ((p11 >> shift) & 0xff) * wx;
          rgb |= clamp((float) (top * (1 - wy) + bottom * wy)) << shift;
        }
        out[oy * outW + ox] = rgb;
      }
    }
    return out;
  }

  private static int clamp(float v) {
    int i = Math.round(v);
    return i < 0 ? 0 : Math.min(255, i);
  }
}
