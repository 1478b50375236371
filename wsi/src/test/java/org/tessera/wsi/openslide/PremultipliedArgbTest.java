package org.tessera.wsi.openslide;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PremultipliedArgbTest {

  @Test
  void matchesPythonOpenSlideForEveryAlphaAndChannelValue(@TempDir Path dir) throws IOException {
    // Every (alpha, value) pair in each channel, including invalid premultiplied input (value >
    // alpha) where the C code wraps, and alpha 0 with colour left in it.
    int[] words = new int[256 * 256];
    for (int a = 0; a < 256; a++) {
      for (int c = 0; c < 256; c++) {
        words[a * 256 + c] = (a << 24) | (c << 16) | ((255 - c) << 8) | ((c + a) & 0xff);
      }
    }
    ByteBuffer nativeOrder = ByteBuffer.allocate(words.length * 4).order(ByteOrder.nativeOrder());
    nativeOrder.asIntBuffer().put(words);
    byte[] expected = PythonOpenSlide.in(dir).argb2rgba(dir, nativeOrder.array());

    int[] converted = words.clone();
    PremultipliedArgb.unpremultiply(converted);
    byte[] actual = PythonOpenSlide.rgbaBytes(converted);

    assertEquals(expected.length, actual.length);
    for (int i = 0; i < words.length; i++) {
      for (int k = 0; k < 4; k++) {
        if (expected[4 * i + k] != actual[4 * i + k]) {
          fail(String.format("premultiplied 0x%08x: python RGBA %s, ours %s", words[i],
              rgba(expected, i), rgba(actual, i)));
        }
      }
    }
  }

  @Test
  void documentedCases() {
    int[] p = {0xff112233, 0x80406020, 0x80c86432, 0x00000000, 0x00102030};
    PremultipliedArgb.unpremultiply(p);
    assertEquals(0xff112233, p[0], "opaque pixels pass through");
    assertEquals(0x807fbf3f, p[1], "255 * c / a, truncated: 64 -> 127, 96 -> 191, 32 -> 63");
    assertEquals(0x808ec763, p[2], "invalid input 200 > 128: 255 * 200 / 128 = 398 wraps to 142");
    assertEquals(0x00000000, p[3], "transparent black stays transparent black");
    assertEquals(0x00302010, p[4], "alpha 0 keeps its word, which Python reads as B, G, R, 0");
  }

  private static String rgba(byte[] bytes, int pixel) {
    return String.format("[%d, %d, %d, %d]", bytes[4 * pixel] & 0xff, bytes[4 * pixel + 1] & 0xff,
        bytes[4 * pixel + 2] & 0xff, bytes[4 * pixel + 3] & 0xff);
  }
}
