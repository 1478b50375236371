package org.tessera.core.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

class ResamplerTest {

  @Test
  void halvingIsTheMeanOfEachTwoByTwoBlock() {
    Random rnd = new Random(1);
    int w = 8;
    int h = 6;
    int[] in = new int[w * h];
    for (int i = 0; i < in.length; i++) {
      in[i] = rnd.nextInt(1 << 24);
    }
    int[] out = Resampler.resize(in, w, h, w / 2, h / 2);
    for (int y = 0; y < h / 2; y++) {
      for (int x = 0; x < w / 2; x++) {
        for (int shift = 16; shift >= 0; shift -= 8) {
          int sum = 0;
          for (int dy = 0; dy < 2; dy++) {
            for (int dx = 0; dx < 2; dx++) {
              sum += (in[(2 * y + dy) * w + 2 * x + dx] >> shift) & 0xff;
            }
          }
          assertEquals(Math.round(sum / 4.0f), (out[y * (w / 2) + x] >> shift) & 0xff, 1e-9,
              "pixel " + x + "," + y);
        }
      }
    }
  }

  @Test
  void fractionalShrinkPreservesAFlatColourAndTheMean() {
    int[] flat = new int[7 * 5];
    java.util.Arrays.fill(flat, 0x336699);
    int[] out = Resampler.resize(flat, 7, 5, 3, 2);
    for (int p : out) {
      assertEquals(0x336699, p);
    }
    // A horizontal ramp keeps its mean under a 614 -> 256 shrink (the awkward-ratio tile case).
    int[] ramp = new int[614];
    long sum = 0;
    for (int x = 0; x < 614; x++) {
      int v = x * 255 / 613;
      ramp[x] = v << 16;
      sum += v;
    }
    int[] small = Resampler.resize(ramp, 614, 1, 256, 1);
    long smallSum = 0;
    for (int p : small) {
      smallSum += (p >> 16) & 0xff;
    }
    assertEquals(sum / 614.0, smallSum / 256.0, 0.5);
  }

  @Test
  void sameSizeIsACopyAndUpscalingKeepsCorners() {
    int[] in = {0x000000, 0xffffff, 0xff0000, 0x00ff00};
    assertArrayEquals(in, Resampler.resize(in, 2, 2, 2, 2));
    int[] up = Resampler.resize(in, 2, 2, 4, 4);
    assertEquals(0x000000, up[0]);
    assertEquals(0xffffff, up[3]);
    assertEquals(0x00ff00, up[15]);
  }
}
