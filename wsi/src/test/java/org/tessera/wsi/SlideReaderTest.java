package org.tessera.wsi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.tessera.wsi.region.RegionRequest;
import org.tessera.core.image.Resampler;
import org.tessera.wsi.region.TileRequest;

/** The RGB reads SlideReader derives from readArgb, on an in-memory slide. */
class SlideReaderTest {

  /** One level of straight ARGB pixels; what lies outside reads as alpha 0, as OpenSlide's does. */
  private static final class MemorySlide implements SlideReader {
    final int width;
    final int height;
    final int[] argb;
    int[] lastRead;

    MemorySlide(int width, int height, int[] argb) {
      this.width = width;
      this.height = height;
      this.argb = argb;
    }

    @Override
    public SlideMetadata metadata() {
      return new SlideMetadata("memory", List.of(new LevelInfo(0, width, height, 1.0)),
          OptionalDouble.empty(), OptionalDouble.empty(), OptionalDouble.empty(), Map.of(),
          List.of());
    }

    @Override
    public int[] readArgb(long x, long y, int level, int w, int h) {
      int[] out = new int[w * h];
      for (int j = 0; j < h; j++) {
        for (int i = 0; i < w; i++) {
          long sx = x + i;
          long sy = y + j;
          if (sx >= 0 && sy >= 0 && sx < width && sy < height) {
            out[j * w + i] = argb[(int) (sy * width + sx)];
          }
        }
      }
      lastRead = out;
      return out;
    }

    @Override
    public void close() {}
  }

  private static MemorySlide randomSlide(int w, int h, long seed) {
    Random rnd = new Random(seed);
    int[] argb = new int[w * h];
    for (int i = 0; i < argb.length; i++) {
      int alpha = switch (rnd.nextInt(4)) {
        case 0 -> 0;
        case 1 -> 1 + rnd.nextInt(254);
        default -> 255;
      };
      argb[i] = (alpha << 24) | rnd.nextInt(1 << 24);
    }
    return new MemorySlide(w, h, argb);
  }

  /** Straight alpha over an opaque background, rounded to nearest. */
  private static int over(int argb, int background) {
    int a = argb >>> 24;
    int rgb = 0;
    for (int shift = 16; shift >= 0; shift -= 8) {
      int c = (argb >> shift) & 0xff;
      int bg = (background >> shift) & 0xff;
      rgb |= Math.round((c * a + bg * (255 - a)) / 255f) << shift;
    }
    return rgb;
  }

  @Test
  void rgbPixelsAreTheRegionCompositedOverTheBackground() throws IOException {
    MemorySlide slide = randomSlide(40, 30, 1);
    RegionRequest region = RegionRequest.of(-5, 3, 0, 50, 20);
    int[] rgb = slide.readRgbPixels(region, 0x336699);
    int[] argb = slide.readArgb(-5, 3, 0, 50, 20);
    assertEquals(50 * 20, rgb.length);
    for (int i = 0; i < rgb.length; i++) {
      int a = argb[i] >>> 24;
      int expected = a == 255 ? argb[i] & 0xffffff : a == 0 ? 0x336699 : over(argb[i], 0x336699);
      assertEquals(expected, rgb[i], "pixel " + i + " (alpha " + a + ")");
    }
  }

  @Test
  void rgbPixelsReuseTheArrayReadArgbHandedOver() throws IOException {
    MemorySlide slide = randomSlide(16, 16, 2);
    int[] rgb = slide.readRgbPixels(RegionRequest.of(0, 0, 0, 16, 16), 0xffffff);
    assertSame(slide.lastRead, rgb);
  }

  @Test
  void theRgbImageHasTheRgbPixels() throws IOException {
    MemorySlide slide = randomSlide(40, 30, 3);
    RegionRequest region = RegionRequest.of(30, 20, 0, 17, 13);
    BufferedImage image = slide.readRgb(region, 0x00ff00);
    assertEquals(BufferedImage.TYPE_INT_RGB, image.getType());
    int[] fromImage = image.getRGB(0, 0, 17, 13, null, 0, 17);
    int[] pixels = slide.readRgbPixels(region, 0x00ff00);
    for (int i = 0; i < pixels.length; i++) {
      assertEquals(pixels[i], fromImage[i] & 0xffffff, "pixel " + i);
    }
  }

  @Test
  void aLevelExactTileIsTheRegionOverWhite() throws IOException {
    MemorySlide slide = randomSlide(64, 64, 4);
    TileRequest tile = TileRequest.of(0, 40, 40, 32, 32);
    int[] pixels = slide.readTilePixels(tile);
    assertArrayEquals(slide.readRgbPixels(tile.region(), 0xffffff), pixels);
    BufferedImage image = slide.readTile(tile);
    assertEquals(32, image.getWidth());
    int[] fromImage = image.getRGB(0, 0, 32, 32, null, 0, 32);
    for (int i = 0; i < pixels.length; i++) {
      assertEquals(pixels[i], fromImage[i] & 0xffffff, "pixel " + i);
    }
  }

  @Test
  void aTileOffTheTargetResolutionIsResampledToItsOutputSize() throws IOException {
    MemorySlide slide = randomSlide(64, 64, 5);
    TileRequest shrink = TileRequest.of(0, 3, 5, 48, 20);
    int[] atLevel = slide.readRgbPixels(shrink.region(), 0xffffff);
    assertArrayEquals(Resampler.resize(atLevel, 48, 48, 20, 20), slide.readTilePixels(shrink));
    TileRequest enlarge = TileRequest.of(0, 3, 5, 10, 25);
    atLevel = slide.readRgbPixels(enlarge.region(), 0xffffff);
    int[] pixels = slide.readTilePixels(enlarge);
    assertArrayEquals(Resampler.resize(atLevel, 10, 10, 25, 25), pixels);
    int[] fromImage = slide.readTile(enlarge).getRGB(0, 0, 25, 25, null, 0, 25);
    for (int i = 0; i < pixels.length; i++) {
      assertEquals(pixels[i], fromImage[i] & 0xffffff, "pixel " + i);
    }
  }
}
