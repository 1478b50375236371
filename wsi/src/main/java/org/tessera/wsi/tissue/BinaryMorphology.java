package org.tessera.wsi.tissue;

/**
 * The binary half of tissue detection: closing, hole filling and small-component removal on a
 * row-major boolean mask. Tissue is 8-connected and background 4-connected, the pairing under
 * which every hole is enclosed by one tissue component and diagonal gaps do not leak.
 */
final class BinaryMorphology {
  private BinaryMorphology() {}

  /**
   * Closing (dilation then erosion) with a {@code k x k} square. Both passes are separable running
   * counts, O(1) per pixel whatever k. For even k the dilation window is offset as OpenCV anchors
   * it and the erosion uses the reflected window, which keeps closing extensive (never removes
   * tissue). Pixels outside the image never add tissue and never erode it.
   */
  static boolean[] close(boolean[] mask, int w, int h, int k) {
    if (k <= 1) {
      return mask.clone();
    }
    int lo = -(k / 2);
    int hi = k - 1 - k / 2;
    boolean[] dilated = anyInWindow(anyInWindow(mask, w, h, lo, hi, true), w, h, lo, hi, false);
    boolean[] inverted = not(dilated);
    boolean[] grown = anyInWindow(anyInWindow(inverted, w, h, -hi, -lo, true), w, h, -hi, -lo, false);
    return not(grown);
  }

  /**
   * Fills background regions not connected to the image border whose size is below {@code
   * maxFillPixels} ({@link Long#MAX_VALUE} fills every hole).
   */
  static void fillHoles(boolean[] mask, int w, int h, long maxFillPixels) {
    byte[] seen = new byte[mask.length];
    IntStack stack = new IntStack();
    for (int x = 0; x < w; x++) {
      seed(mask, seen, stack, x);
      seed(mask, seen, stack, (h - 1) * w + x);
    }
    for (int y = 0; y < h; y++) {
      seed(mask, seen, stack, y * w);
      seed(mask, seen, stack, y * w + w - 1);
    }
    flood(mask, seen, stack, null, w, h, false, false);
    IntStack members = new IntStack();
    for (int i = 0; i < mask.length; i++) {
      if (!mask[i] && seen[i] == 0) {
        seen[i] = 1;
        stack.push(i);
        members.clear();
        flood(mask, seen, stack, members, w, h, false, false);
        if (members.size() < maxFillPixels) {
          for (int j = 0; j < members.size(); j++) {
            mask[members.get(j)] = true;
          }
        }
      }
    }
  }

  /** Clears 8-connected tissue components of fewer than {@code minPixels} pixels. */
  static void removeSmall(boolean[] mask, int w, int h, long minPixels) {
    if (minPixels <= 1) {
      return;
    }
    byte[] seen = new byte[mask.length];
    IntStack stack = new IntStack();
    IntStack members = new IntStack();
    for (int i = 0; i < mask.length; i++) {
      if (mask[i] && seen[i] == 0) {
        seen[i] = 1;
        stack.push(i);
        members.clear();
        flood(mask, seen, stack, members, w, h, true, true);
        if (members.size() < minPixels) {
          for (int j = 0; j < members.size(); j++) {
            mask[members.get(j)] = false;
          }
        }
      }
    }
  }

  private static void seed(boolean[] mask, byte[] seen, IntStack stack, int i) {
    if (!mask[i] && seen[i] == 0) {
      seen[i] = 1;
      stack.push(i);
    }
  }

  /** Depth-first flood over pixels equal to {@code value}, from whatever is on the stack. */
  private static void flood(boolean[] mask, byte[] seen, IntStack stack, IntStack members, int w,
      int h, boolean value, boolean eight) {
    while (stack.size() > 0) {
      int p = stack.pop();
      if (members != null) {
        members.push(p);
      }
      int x = p % w;
      int y = p / w;
      for (int dy = -1; dy <= 1; dy++) {
        int ny = y + dy;
        if (ny < 0 || ny >= h) {
          continue;
        }
        for (int dx = -1; dx <= 1; dx++) {
          int nx = x + dx;
          if (nx < 0 || nx >= w || (dx == 0 && dy == 0) || (!eight && dx != 0 && dy != 0)) {
            continue;
          }
          int q = ny * w + nx;
          if (mask[q] == value && seen[q] == 0) {
            seen[q] = 1;
            stack.push(q);
          }
        }
      }
    }
  }

  /** Whether any pixel in the window [offset lo, offset hi] along one axis is set. */
  private static boolean[] anyInWindow(boolean[] in, int w, int h, int lo, int hi, boolean alongRows) {
    boolean[] out = new boolean[in.length];
    if (alongRows) {
      int[] prefix = new int[w + 1];
      for (int y = 0; y < h; y++) {
        int base = y * w;
        for (int x = 0; x < w; x++) {
          prefix[x + 1] = prefix[x] + (in[base + x] ? 1 : 0);
        }
        for (int x = 0; x < w; x++) {
          int a = Math.max(0, x + lo);
          int b = Math.min(w - 1, x + hi);
          out[base + x] = a <= b && prefix[b + 1] > prefix[a];
        }
      }
    } else {
      int[] count = new int[w];
      for (int y = 0; y < h; y++) {
        if (y == 0) {
          for (int r = Math.max(0, lo); r <= Math.min(h - 1, hi); r++) {
            addRow(in, count, r * w, w, 1);
          }
        } else {
          int enter = y + hi;
          int leave = y + lo - 1;
          if (enter >= 0 && enter < h) {
            addRow(in, count, enter * w, w, 1);
          }
          if (leave >= 0 && leave < h) {
            addRow(in, count, leave * w, w, -1);
          }
        }
        int base = y * w;
        for (int x = 0; x < w; x++) {
          out[base + x] = count[x] > 0;
        }
      }
    }
    return out;
  }

  private static void addRow(boolean[] in, int[] count, int base, int w, int delta) {
    for (int x = 0; x < w; x++) {
      if (in[base + x]) {
        count[x] += delta;
      }
    }
  }

  private static boolean[] not(boolean[] in) {
    boolean[] out = new boolean[in.length];
    for (int i = 0; i < in.length; i++) {
      out[i] = !in[i];
    }
    return out;
  }
}
