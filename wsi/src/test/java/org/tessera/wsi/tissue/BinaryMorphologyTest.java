package org.tessera.wsi.tissue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class BinaryMorphologyTest {

  @Test
  void closingEqualsBruteForceAndIsExtensiveAndIdempotent() {
    Random rnd = new Random(9);
    int w = 31;
    int h = 19;
    for (double density : new double[] {0.1, 0.5, 0.85}) {
      boolean[] m = new boolean[w * h];
      for (int i = 0; i < m.length; i++) {
        m[i] = rnd.nextDouble() < density;
      }
      for (int k : new int[] {0, 1, 2, 3, 4, 5, 8}) {
        boolean[] closed = BinaryMorphology.close(m, w, h, k);
        assertArrayEquals(bruteClose(m, w, h, k), closed, "k=" + k + " density=" + density);
        for (int i = 0; i < m.length; i++) {
          assertTrue(!m[i] || closed[i], "closing removed tissue, k=" + k);
        }
        assertArrayEquals(closed, BinaryMorphology.close(closed, w, h, k), "idempotent, k=" + k);
      }
    }
  }

  @Test
  void closingBridgesANarrowGap() {
    int w = 20;
    int h = 9;
    boolean[] m = new boolean[w * h];
    for (int y = 2; y < 7; y++) {
      for (int x = 2; x < 18; x++) {
        m[y * w + x] = x != 9 && x != 10;
      }
    }
    boolean[] closed = BinaryMorphology.close(m, w, h, 3);
    assertTrue(closed[4 * w + 9] && closed[4 * w + 10]);
    assertFalse(closed[0]);
  }

  @Test
  void fillHolesUsesFourConnectedBackgroundAndRespectsSize() {
    // A diagonal-only gap in the ring does not connect the hole to the outside.
    String[] rows = {
        "..........",
        ".#####....",
        ".#...#....",
        ".#...#....",
        ".####.....",
        "..........",
        "......###.",
        "......#.#.",
        "......###.",
        ".........."};
    boolean[] m = parse(rows);
    boolean[] all = m.clone();
    BinaryMorphology.fillHoles(all, 10, 10, Long.MAX_VALUE);
    assertTrue(all[2 * 10 + 3] && all[3 * 10 + 4], "3x2 hole filled");
    assertTrue(all[7 * 10 + 7], "1-pixel hole filled");
    assertFalse(all[4 * 10 + 5], "the diagonal notch is outside background, not hole");

    boolean[] small = m.clone();
    BinaryMorphology.fillHoles(small, 10, 10, 2);
    assertFalse(small[2 * 10 + 3], "6-pixel hole kept when only holes < 2 px are filled");
    assertTrue(small[7 * 10 + 7]);
  }

  @Test
  void removeSmallUsesEightConnectivity() {
    String[] rows = {
        "#.....",
        ".#....",
        "..#...",
        "......",
        "....##",
        "....##"};
    boolean[] m = parse(rows);
    BinaryMorphology.removeSmall(m, 6, 6, 4);
    assertFalse(m[0], "3-pixel diagonal component dropped");
    assertTrue(m[5 * 6 + 5], "4-pixel square kept");
    boolean[] n = parse(rows);
    BinaryMorphology.removeSmall(n, 6, 6, 3);
    assertTrue(n[0] && n[7] && n[14], "diagonal pixels form one 3-pixel component");
    assertEquals(7, count(n));
  }

  private static boolean[] parse(String[] rows) {
    int w = rows[0].length();
    boolean[] m = new boolean[w * rows.length];
    for (int y = 0; y < rows.length; y++) {
      for (int x = 0; x < w; x++) {
        m[y * w + x] = rows[y].charAt(x) == '#';
      }
    }
    return m;
  }

  private static int count(boolean[] m) {
    int n = 0;
    for (boolean b : m) {
      n += b ? 1 : 0;
    }
    return n;
  }

  /**
   * Closing straight from the definition: dilation by the k x k window (outside the image adds no
   * tissue), then erosion by the reflected window (outside the image erodes nothing).
   */
  private static boolean[] bruteClose(boolean[] m, int w, int h, int k) {
    if (k <= 1) {
      return m.clone();
    }
    boolean[] out = new boolean[m.length];
    int lo = -(k / 2);
    int hi = k - 1 - k / 2;
    boolean[] dil = new boolean[m.length];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        boolean any = false;
        for (int dy = lo; dy <= hi && !any; dy++) {
          for (int dx = lo; dx <= hi && !any; dx++) {
            int xx = x + dx;
            int yy = y + dy;
            any = xx >= 0 && yy >= 0 && xx < w && yy < h && m[yy * w + xx];
          }
        }
        dil[y * w + x] = any;
      }
    }
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        boolean all = true;
        for (int dy = -hi; dy <= -lo && all; dy++) {
          for (int dx = -hi; dx <= -lo && all; dx++) {
            int xx = x + dx;
            int yy = y + dy;
            all = xx < 0 || yy < 0 || xx >= w || yy >= h || dil[yy * w + xx];
          }
        }
        out[y * w + x] = all;
      }
    }
    return out;
  }
}
