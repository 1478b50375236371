package org.tessera.core.nn.mil;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * TransMIL's positional information, as a fixed 2-D sinusoidal encoding of each tile's place on
 * the tile grid rather than the original's convolutional PPEG (which needs the bag reshaped to a
 * square image and loses the real layout). Grid indices come from the level-0 origins: the step of
 * each axis is the greatest common divisor of the offsets from the smallest origin, so any tile
 * size or overlap-free stride is recovered without being told. The first half of the width
 * encodes the row, the second half the column, as interleaved sin/cos pairs at geometric
 * frequencies (1 / 10000^(2j / half)).
 */
final class GridEncoding {

  private GridEncoding() {}

  static INDArray encode(int[] x, int[] y, int width, DataType dt) {
    int n = x.length;
    int half = width / 2;
    int[] cols = gridIndex(x);
    int[] rows = gridIndex(y);
    float[] out = new float[Math.multiplyExact(n, width)];
    // Grid indices are small (a few hundred per axis): encode each index once.
    float[][] rowCode = table(rows, half);
    float[][] colCode = table(cols, width - half);
    for (int i = 0; i < n; i++) {
      System.arraycopy(rowCode[rows[i]], 0, out, i * width, half);
      System.arraycopy(colCode[cols[i]], 0, out, i * width + half, width - half);
    }
    INDArray arr = Nd4j.create(out, new long[] {n, width}, 'c');
    return dt == DataType.FLOAT ? arr : arr.castTo(dt);
  }

  static int[] gridIndex(int[] origin) {
    long min = Long.MAX_VALUE;
    for (int v : origin) {
      min = Math.min(min, v);
    }
    long step = 0;
    for (int v : origin) {
      step = gcd(step, v - min);
    }
    int[] index = new int[origin.length];
    for (int i = 0; i < origin.length; i++) {
      index[i] = step == 0 ? 0 : Math.toIntExact((origin[i] - min) / step);
    }
    return index;
  }

  private static float[][] table(int[] index, int size) {
    int max = 0;
    for (int v : index) {
      max = Math.max(max, v);
    }
    float[][] codes = new float[max + 1][size];
    for (int pos = 0; pos <= max; pos++) {
      for (int j = 0; j < size; j++) {
        double freq = Math.pow(10000, -2.0 * (j / 2) / Math.max(1, size));
        codes[pos][j] = (float) (j % 2 == 0 ? Math.sin(pos * freq) : Math.cos(pos * freq));
      }
    }
    return codes;
  }

  private static long gcd(long a, long b) {
    while (b != 0) {
      long t = a % b;
      a = b;
      b = t;
    }
    return a;
  }
}
