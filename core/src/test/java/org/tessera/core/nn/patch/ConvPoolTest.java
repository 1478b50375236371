package org.tessera.core.nn.patch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link Conv2d} and {@link MaxPool2d} forward and backward against direct loops in double, on
 * shapes that exercise the unfolding's edges: kernels 1, 3 and 7, stride 2, padding, odd and
 * non-square images, one channel.
 */
class ConvPoolTest {

  @Test
  void convolutionMatchesDirectLoops() {
    int[][] cases = {
        // batch, in, out, h, w, kernel, stride
        {2, 3, 4, 9, 7, 3, 1}, {3, 2, 5, 11, 8, 3, 2}, {2, 4, 3, 13, 10, 7, 2},
        {2, 5, 6, 6, 5, 1, 1}, {2, 5, 6, 7, 9, 1, 2}, {1, 1, 2, 5, 5, 7, 1}, {2, 3, 2, 1, 4, 3, 1}};
    Random random = new Random(7);
    for (int[] c : cases) {
      int batch = c[0], in = c[1], out = c[2], h = c[3], w = c[4], k = c[5], s = c[6];
      Conv2d conv = new Conv2d("conv", in, out, k, s);
      List<Param> params = new ArrayList<>();
      conv.collect(params, new ArrayList<>());
      Param weight = params.get(0);
      float[] wv = gaussian(random, out * in * k * k);
      weight.value().assign(Nd4j.create(wv, weight.shape(), 'c'));
      float[] x = gaussian(random, batch * in * h * w);
      int p = k / 2;
      int oh = (h + 2 * p - k) / s + 1;
      int ow = (w + 2 * p - k) / s + 1;
      float[] dy = gaussian(random, batch * out * oh * ow);
      double[] y = new double[dy.length];
      double[] dx = new double[x.length];
      double[] dw = new double[wv.length];
      for (int b = 0; b < batch; b++) {
        for (int o = 0; o < out; o++) {
          for (int oy = 0; oy < oh; oy++) {
            for (int ox = 0; ox < ow; ox++) {
              int yi = ((b * out + o) * oh + oy) * ow + ox;
              for (int i = 0; i < in; i++) {
                for (int ky = 0; ky < k; ky++) {
                  for (int kx = 0; kx < k; kx++) {
                    int iy = oy * s + ky - p;
                    int ix = ox * s + kx - p;
                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) {
                      continue;
                    }
                    int xi = ((b * in + i) * h + iy) * w + ix;
                    int wi = ((o * in + i) * k + ky) * k + kx;
                    y[yi] += (double) wv[wi] * x[xi];
                    dx[xi] += (double) wv[wi] * dy[yi];
                    dw[wi] += (double) x[xi] * dy[yi];
                  }
                }
              }
            }
          }
        }
      }
      String label = java.util.Arrays.toString(c);
      INDArray xa = Nd4j.create(x, new long[] {batch, in, h, w}, 'c');
      INDArray ya = conv.forward(xa, true);
      check(label + " y", y, ya.data().asFloat());
      INDArray dxa = conv.backward(Nd4j.create(dy, ya.shape(), 'c'));
      check(label + " dx", dx, dxa.data().asFloat());
      check(label + " dW", dw, weight.grad().data().asFloat());
      weight.grad().assign(0);
      conv.forward(xa, true);
      conv.setInputGradient(false);
      assertNull(conv.backward(Nd4j.create(dy, ya.shape(), 'c')), label);
      check(label + " dW without dx", dw, weight.grad().data().asFloat());
    }
  }

  @Test
  void maxPoolMatchesDirectLoops() {
    int[][] cases = {
        // batch, channels, h, w, kernel, stride, padding
        {2, 3, 8, 6, 2, 2, 0}, {2, 3, 9, 7, 2, 2, 0}, {2, 2, 9, 8, 3, 2, 1}, {1, 4, 7, 7, 3, 2, 1}};
    Random random = new Random(8);
    for (int[] c : cases) {
      int batch = c[0], ch = c[1], h = c[2], w = c[3], k = c[4], s = c[5], p = c[6];
      int oh = (h + 2 * p - k) / s + 1;
      int ow = (w + 2 * p - k) / s + 1;
      float[] x = gaussian(random, batch * ch * h * w);
      // Ties (as after a ReLU) must send the gradient to the first maximum, as PyTorch does.
      for (int i = 0; i < x.length; i += 3) {
        x[i] = 0;
      }
      float[] dy = gaussian(random, batch * ch * oh * ow);
      double[] y = new double[dy.length];
      double[] dx = new double[x.length];
      for (int plane = 0; plane < batch * ch; plane++) {
        for (int oy = 0; oy < oh; oy++) {
          for (int ox = 0; ox < ow; ox++) {
            int best = -1;
            for (int ky = 0; ky < k; ky++) {
              for (int kx = 0; kx < k; kx++) {
                int iy = oy * s + ky - p;
                int ix = ox * s + kx - p;
                if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
                  int xi = (plane * h + iy) * w + ix;
                  if (best < 0 || x[xi] > x[best]) {
                    best = xi;
                  }
                }
              }
            }
            int yi = (plane * oh + oy) * ow + ox;
            y[yi] = x[best];
            dx[best] += dy[yi];
          }
        }
      }
      String label = java.util.Arrays.toString(c);
      MaxPool2d pool = new MaxPool2d(k, s, p);
      INDArray ya = pool.forward(Nd4j.create(x, new long[] {batch, ch, h, w}, 'c'), true);
      check(label + " y", y, ya.data().asFloat());
      INDArray dxa = pool.backward(Nd4j.create(dy, ya.shape(), 'c'));
      check(label + " dx", dx, dxa.data().asFloat());
    }
  }

  private static float[] gaussian(Random random, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) random.nextGaussian();
    }
    return v;
  }

  private static void check(String label, double[] expected, float[] actual) {
    assertEquals(expected.length, actual.length, label);
    double scale = 0;
    double diff = 0;
    for (int i = 0; i < expected.length; i++) {
      scale = Math.max(scale, Math.abs(expected[i]));
      diff = Math.max(diff, Math.abs(expected[i] - actual[i]));
    }
    assertTrue(diff <= 1e-4 * Math.max(scale, 1e-12), label + ": max|diff| " + diff
        + " against largest |value| " + scale);
  }
}
