package org.tessera.spark.tile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.tessera.wsi.tiling.TilingParams;
import org.tessera.wsi.tissue.TissueParams;

/** Stored pixel formats, from the packed RGB ints tiles are read as. */
class SlideTasksEncodeTest {
  private static final int SIZE = 64;

  private static TileSettings settings(String format) {
    TilingParams tiling = new TilingParams(0.5, 256, 256, 0.5, 16, null,
        TissueParams.defaults());
    return new TileSettings(tiling, true, format, 90, 2000, false, "/tmp");
  }

  /** A smooth gradient with a little noise: JPEG keeps it close, PNG exactly. */
  private static int[] tile() {
    Random rnd = new Random(7);
    int[] px = new int[SIZE * SIZE];
    for (int y = 0; y < SIZE; y++) {
      for (int x = 0; x < SIZE; x++) {
        int r = Math.min(255, 3 * x + rnd.nextInt(4));
        int g = Math.min(255, 3 * y + rnd.nextInt(4));
        int b = 128 + rnd.nextInt(4);
        px[y * SIZE + x] = (r << 16) | (g << 8) | b;
      }
    }
    return px;
  }

  @Test
  void rawIsRgbBytesInRowMajorOrder() throws IOException {
    int[] px = tile();
    byte[] raw = SlideTasks.encode(px, SIZE, settings("raw"));
    assertEquals(3 * SIZE * SIZE, raw.length);
    for (int i = 0; i < px.length; i++) {
      assertEquals((px[i] >> 16) & 0xff, raw[3 * i] & 0xff, "red of pixel " + i);
      assertEquals((px[i] >> 8) & 0xff, raw[3 * i + 1] & 0xff, "green of pixel " + i);
      assertEquals(px[i] & 0xff, raw[3 * i + 2] & 0xff, "blue of pixel " + i);
    }
  }

  @Test
  void pngDecodesToTheSamePixels() throws IOException {
    int[] px = tile();
    BufferedImage back = ImageIO.read(new ByteArrayInputStream(
        SlideTasks.encode(px, SIZE, settings("png"))));
    assertEquals(SIZE, back.getWidth());
    assertEquals(SIZE, back.getHeight());
    int[] decoded = back.getRGB(0, 0, SIZE, SIZE, null, 0, SIZE);
    for (int i = 0; i < px.length; i++) {
      decoded[i] &= 0xffffff;
    }
    assertArrayEquals(px, decoded);
  }

  @Test
  void jpegDecodesToNearlyTheSamePixels() throws IOException {
    int[] px = tile();
    BufferedImage back = ImageIO.read(new ByteArrayInputStream(
        SlideTasks.encode(px, SIZE, settings("jpeg"))));
    assertEquals(SIZE, back.getWidth());
    assertEquals(SIZE, back.getHeight());
    double error = 0;
    for (int i = 0; i < px.length; i++) {
      int q = back.getRGB(i % SIZE, i / SIZE);
      for (int shift = 16; shift >= 0; shift -= 8) {
        error += Math.abs(((px[i] >> shift) & 0xff) - ((q >> shift) & 0xff));
      }
    }
    double mean = error / (3.0 * px.length);
    assertTrue(mean < 4, "mean absolute error " + mean + " at quality 90");
  }
}
