package org.tessera.wsi.tissue;

import java.util.Arrays;

/**
 * The grey-level half of tissue detection: stained tissue is coloured and glass is grey, so HSV
 * saturation separates them better than brightness does (pale stroma can be as bright as glass).
 */
final class SaturationFilters {
  private SaturationFilters() {}

  /** HSV saturation, 0-255, of packed 0xRRGGBB pixels (alpha ignored), rounded as OpenCV does. */
  static byte[] saturation(int[] rgb) {
    byte[] out = new byte[rgb.length];
    for (int i = 0; i < rgb.length; i++) {
      int p = rgb[i];
      int r = (p >> 16) & 0xff;
      int g = (p >> 8) & 0xff;
      int b = p & 0xff;
      int max = Math.max(r, Math.max(g, b));
      int min = Math.min(r, Math.min(g, b));
      out[i] = (byte) (max == 0 ? 0 : (255 * (max - min) + max / 2) / max);
    }
    return out;
  }

  /**
   * Median over a {@code k x k} window with replicated borders. Huang's sliding histogram: moving
   * one pixel right swaps one window column (2k histogram updates) and the median moves by the few
   * bins those updates push across it, so a 7x7 median of a 4000x3000 thumbnail is a fraction of a
   * second, where sorting each window would take many seconds.
   */
  static byte[] median(byte[] src, int w, int h, int k) {
    if (k == 1) {
      return src.clone();
    }
    int r = k / 2;
    int rank = (k * k) / 2;
    byte[] out = new byte[src.length];
    int[] hist = new int[256];
    int[] rows = new int[k];
    for (int y = 0; y < h; y++) {
      for (int d = -r; d <= r; d++) {
        rows[d + r] = clamp(y + d, h) * w;
      }
      Arrays.fill(hist, 0);
      for (int dx = -r; dx <= r; dx++) {
        int cx = clamp(dx, w);
        for (int row : rows) {
          hist[src[row + cx] & 0xff]++;
        }
      }
      int m = 0;
      int below = 0;
      while (below + hist[m] <= rank) {
        below += hist[m];
        m++;
      }
      out[y * w] = (byte) m;
      for (int x = 1; x < w; x++) {
        int gone = clamp(x - r - 1, w);
        int come = clamp(x + r, w);
        if (gone != come) {
          for (int row : rows) {
            int v = src[row + gone] & 0xff;
            hist[v]--;
            if (v < m) {
              below--;
            }
            v = src[row + come] & 0xff;
            hist[v]++;
            if (v < m) {
              below++;
            }
          }
          while (below > rank) {
            m--;
            below -= hist[m];
          }
          while (below + hist[m] <= rank) {
            below += hist[m];
            m++;
          }
        }
        out[y * w + x] = (byte) m;
      }
    }
    return out;
  }

  static int[] histogram(byte[] values) {
    int[] hist = new int[256];
    for (byte v : values) {
      hist[v & 0xff]++;
    }
    return hist;
  }

  /**
   * Otsu's threshold t (class 0 = values <= t) maximising the between-class variance. When a range
   * of thresholds ties, as across an empty gap between two modes, the middle of the range is
   * returned rather than its first value, so the cut sits between the modes instead of hugging
   * the lower one. A histogram with a single occupied value returns that value.
   */
  static int otsu(int[] hist) {
    long total = 0;
    double sumAll = 0;
    int lastOccupied = 0;
    for (int v = 0; v < hist.length; v++) {
      total += hist[v];
      sumAll += (double) v * hist[v];
      if (hist[v] > 0) {
        lastOccupied = v;
      }
    }
    double best = -1;
    int first = lastOccupied;
    int last = lastOccupied;
    long count0 = 0;
    double sum0 = 0;
    for (int t = 0; t < hist.length - 1; t++) {
      count0 += hist[t];
      sum0 += (double) t * hist[t];
      long count1 = total - count0;
      if (count0 == 0 || count1 == 0) {
        continue;
      }
      double mean0 = sum0 / count0;
      double mean1 = (sumAll - sum0) / count1;
      double between = (double) count0 * count1 * (mean0 - mean1) * (mean0 - mean1);
      if (between > best) {
        best = between;
        first = t;
        last = t;
      } else if (between == best && last == t - 1) {
        last = t;
      }
    }
    return (first + last) / 2;
  }

  /**
   * Pixels above {@code high}, plus every pixel above {@code low} 8-connected to one of them
   * (hysteresis). Pale tissue such as lightly counterstained stroma is kept when it touches clearly
   * stained tissue, while equally faint smudges on the glass are not.
   */
  static boolean[] hysteresis(byte[] sat, int w, int h, int high, int low) {
    boolean[] out = new boolean[sat.length];
    IntStack stack = new IntStack();
    for (int i = 0; i < sat.length; i++) {
      if ((sat[i] & 0xff) > high && !out[i]) {
        out[i] = true;
        stack.push(i);
        while (stack.size() > 0) {
          int p = stack.pop();
          int x = p % w;
          int y = p / w;
          for (int ny = Math.max(0, y - 1); ny <= Math.min(h - 1, y + 1); ny++) {
            for (int nx = Math.max(0, x - 1); nx <= Math.min(w - 1, x + 1); nx++) {
              int q = ny * w + nx;
              if (!out[q] && (sat[q] & 0xff) > low) {
                out[q] = true;
                stack.push(q);
              }
            }
          }
        }
      }
    }
    return out;
  }

  private static int clamp(int i, int n) {
    return i < 0 ? 0 : (i >= n ? n - 1 : i);
  }
}
