package org.tessera.wsi.tissue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SaturationFiltersTest {

  @Test
  void saturationMatchesHsvDefinition() {
    byte[] s = SaturationFilters.saturation(new int[] {0x000000, 0xffffff, 0xff0000, 0x808040,
        0xf0f0ee, 0x0a0a0a});
    assertArrayEquals(new byte[] {0, 0, (byte) 255, (byte) 128, 2, 0}, s);
  }

  @Test
  void medianEqualsBruteForceWithReplicatedBorders() {
    Random rnd = new Random(5);
    for (int levels : new int[] {3, 256}) {
      int w = 37;
      int h = 23;
      byte[] img = new byte[w * h];
      for (int i = 0; i < img.length; i++) {
        img[i] = (byte) rnd.nextInt(levels);
      }
      for (int k : new int[] {1, 3, 5, 7, 9}) {
        assertArrayEquals(bruteMedian(img, w, h, k), SaturationFilters.median(img, w, h, k),
            "k=" + k + " levels=" + levels);
      }
    }
  }

  @Test
  void medianRemovesImpulsesAndKeepsEdges() {
    int w = 20;
    int h = 10;
    byte[] img = new byte[w * h];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        img[y * w + x] = (byte) (x < 10 ? 10 : 200);
      }
    }
    img[3 * w + 4] = (byte) 255;
    img[6 * w + 15] = 0;
    byte[] out = SaturationFilters.median(img, w, h, 3);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        assertEquals(x < 10 ? 10 : 200, out[y * w + x] & 0xff, x + "," + y);
      }
    }
  }

  @Test
  void otsuLandsBetweenTheModesOfABimodalHistogram() {
    int[] hist = new int[256];
    Random rnd = new Random(1);
    for (int i = 0; i < 60_000; i++) {
      hist[clamp((int) Math.round(20 + 6 * rnd.nextGaussian()))]++;
    }
    for (int i = 0; i < 25_000; i++) {
      hist[clamp((int) Math.round(120 + 15 * rnd.nextGaussian()))]++;
    }
    int t = SaturationFilters.otsu(hist);
    assertTrue(t > 40 && t < 90, "threshold " + t);
  }

  @Test
  void otsuSplitsAnEmptyGapInTheMiddle() {
    int[] hist = new int[256];
    hist[10] = 500;
    hist[11] = 300;
    hist[200] = 100;
    assertEquals((11 + 199) / 2, SaturationFilters.otsu(hist));
    int[] single = new int[256];
    single[42] = 7;
    assertEquals(42, SaturationFilters.otsu(single));
  }

  private static int clamp(int v) {
    return Math.max(0, Math.min(255, v));
  }

  private static byte[] bruteMedian(byte[] img, int w, int h, int k) {
    int r = k / 2;
    byte[] out = new byte[img.length];
    int[] window = new int[k * k];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int n = 0;
        for (int dy = -r; dy <= r; dy++) {
          for (int dx = -r; dx <= r; dx++) {
            int yy = Math.max(0, Math.min(h - 1, y + dy));
            int xx = Math.max(0, Math.min(w - 1, x + dx));
            window[n++] = img[yy * w + xx] & 0xff;
          }
        }
        Arrays.sort(window);
        out[y * w + x] = (byte) window[window.length / 2];
      }
    }
    return out;
  }
}
