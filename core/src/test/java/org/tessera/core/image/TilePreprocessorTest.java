package org.tessera.core.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TilePreprocessorTest {

  @Test
  void imagenetArithmeticMatchesFloat32Reference() {
    // Expected values from NumPy: (np.float32(c) / np.float32(255) - np.float32(mean))
    // / np.float32(std), printed with the shortest repr that round-trips a float32.
    TilePreprocessor pre = new TilePreprocessor(TilePreprocessor.Config.imagenet(1));
    assertPixel(pre, 0x000000, -2.117904f, -2.0357141f, -1.8044444f);
    assertPixel(pre, 0x010101, -2.1007793f, -2.0182073f, -1.7870152f);
    assertPixel(pre, 0x808080, 0.07406463f, 0.2051822f, 0.42649257f);
    assertPixel(pre, 0xc8c8c8, 1.3070468f, 1.4656863f, 1.6813945f);
    assertPixel(pre, 0xffffff, 2.2489083f, 2.4285715f, 2.64f);
    // Channels are independent and alpha is ignored.
    assertPixel(pre, 0xff00ff80, -2.117904f, 2.4285715f, 0.42649257f);
  }

  @Test
  void customMeanAndStdFollowTheSameFormula() {
    TilePreprocessor.Config config = new TilePreprocessor.Config(1,
        new TilePreprocessor.PerChannel(0.5f, 0f, 1f),
        new TilePreprocessor.PerChannel(0.5f, 1f, 2f),
        StainNormalizers.none());
    TilePreprocessor pre = new TilePreprocessor(config);
    float[] out = new float[3];
    pre.toChw(new int[] {0x336699}, 1, 1, out, 0);
    assertArrayEquals(new float[] {
        (0x33 / 255f - 0.5f) / 0.5f, (0x66 / 255f - 0f) / 1f, (0x99 / 255f - 1f) / 2f}, out, 0f);
  }

  @Test
  void writesNchwInRowMajorOrder() {
    int s = 5;
    int[] rgb = new int[s * s];
    for (int y = 0; y < s; y++) {
      for (int x = 0; x < s; x++) {
        rgb[y * s + x] = (10 * y + x) << 16 | (100 + 10 * y + x) << 8 | (200 + y * 5 + x);
      }
    }
    TilePreprocessor pre = new TilePreprocessor(
        new TilePreprocessor.Config(s, new TilePreprocessor.PerChannel(0, 0, 0),
            new TilePreprocessor.PerChannel(1, 1, 1), StainNormalizers.none()));
    float[] batch = new float[2 * 3 * s * s];
    pre.toChw(rgb, s, s, batch, 1);
    for (int c = 0; c < 3; c++) {
      for (int y = 0; y < s; y++) {
        for (int x = 0; x < s; x++) {
          int expected = c == 0 ? 10 * y + x : c == 1 ? 100 + 10 * y + x : 200 + y * 5 + x;
          assertEquals(expected / 255f, batch[((1 * 3 + c) * s + y) * s + x], 0f,
              "c=" + c + " y=" + y + " x=" + x);
        }
      }
    }
  }

  @Test
  void batchSlotsAreIndependent() {
    int s = 8;
    TilePreprocessor pre = new TilePreprocessor(TilePreprocessor.Config.imagenet(s));
    int[] a = randomTile(s, 1);
    int[] b = randomTile(s, 2);
    float[] batch = new float[3 * pre.floatsPerTile()];
    Arrays.fill(batch, Float.NaN);
    pre.toChw(a, s, s, batch, 1);
    for (int i = 0; i < batch.length; i++) {
      boolean inSlot1 = i >= pre.floatsPerTile() && i < 2 * pre.floatsPerTile();
      assertEquals(inSlot1, !Float.isNaN(batch[i]), "only slot 1 written, index " + i);
    }
    float[] slot1 = Arrays.copyOfRange(batch, pre.floatsPerTile(), 2 * pre.floatsPerTile());
    pre.toChw(b, s, s, batch, 0);
    pre.toChw(b, s, s, batch, 2);
    assertArrayEquals(slot1,
        Arrays.copyOfRange(batch, pre.floatsPerTile(), 2 * pre.floatsPerTile()), 0f);
    assertArrayEquals(Arrays.copyOfRange(batch, 0, pre.floatsPerTile()),
        Arrays.copyOfRange(batch, 2 * pre.floatsPerTile(), 3 * pre.floatsPerTile()), 0f);

    float[] alone = new float[pre.floatsPerTile()];
    pre.toChw(a, s, s, alone, 0);
    assertArrayEquals(alone, slot1, 0f, "a slot's content does not depend on its index");
  }

  @Test
  void resizesTilesOfAnotherSizeWithTheResampler() {
    int s = 6;
    TilePreprocessor pre = new TilePreprocessor(TilePreprocessor.Config.imagenet(s));
    // 2x2 blocks of one colour halve to exactly that colour.
    int[] small = randomTile(s, 5);
    int[] large = new int[4 * s * s];
    for (int y = 0; y < 2 * s; y++) {
      for (int x = 0; x < 2 * s; x++) {
        large[y * 2 * s + x] = small[(y / 2) * s + x / 2];
      }
    }
    float[] fromLarge = new float[pre.floatsPerTile()];
    float[] fromSmall = new float[pre.floatsPerTile()];
    pre.toChw(large, 2 * s, 2 * s, fromLarge, 0);
    pre.toChw(small, s, s, fromSmall, 0);
    assertArrayEquals(fromSmall, fromLarge, 0f);

    // Non-square and enlarging inputs go through the same resampler.
    int[] odd = randomTile(7, 9);
    int[] oddRect = Arrays.copyOf(odd, 7 * 4);
    float[] got = new float[pre.floatsPerTile()];
    float[] want = new float[pre.floatsPerTile()];
    pre.toChw(oddRect, 7, 4, got, 0);
    pre.toChw(Resampler.resize(oddRect, 7, 4, s, s), s, s, want, 0);
    assertArrayEquals(want, got, 0f);
  }

  @Test
  void stainNormalizerRunsOnTheResizedTile() {
    int s = 4;
    Thresholding thresholding = new Thresholding();
    TilePreprocessor pre = new TilePreprocessor(
        TilePreprocessor.Config.imagenet(s).withStainNormalizer(thresholding));
    int[] large = randomTile(2 * s, 4);
    float[] got = new float[pre.floatsPerTile()];
    pre.toChw(large, 2 * s, 2 * s, got, 0);
    int[] resized = Resampler.resize(large, 2 * s, 2 * s, s, s);
    int[] expectedPixels = thresholding.normalize(resized, s, s);
    float[] want = new float[pre.floatsPerTile()];
    new TilePreprocessor(TilePreprocessor.Config.imagenet(s)).toChw(expectedPixels, s, s, want, 0);
    assertArrayEquals(want, got, 0f);
    assertTrue(pre.config().describe().endsWith(",stain=threshold"), pre.config().describe());
  }

  @Test
  void rejectsMismatchedInputsWithTheValues() {
    TilePreprocessor pre = new TilePreprocessor(TilePreprocessor.Config.imagenet(4));
    float[] batch = new float[2 * pre.floatsPerTile()];
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> pre.toChw(new int[15], 4, 4, batch, 0));
    assertTrue(e.getMessage().contains("width=4 height=4") && e.getMessage().contains("got 15"),
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> pre.toChw(new int[16], 4, 4, batch, 2));
    assertTrue(e.getMessage().contains("index=2") && e.getMessage().contains("holds 2 tiles"),
        e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> pre.toChw(new int[16], 4, 4, batch, -1));
  }

  @Test
  void configRejectsInvalidValues() {
    TilePreprocessor.PerChannel ok = new TilePreprocessor.PerChannel(0.5f, 0.5f, 0.5f);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new TilePreprocessor.Config(0, ok, ok, StainNormalizers.none()));
    assertTrue(e.getMessage().contains("inputSize = 0"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new TilePreprocessor.Config(4, ok,
        new TilePreprocessor.PerChannel(0.2f, 0f, 0.2f), StainNormalizers.none()));
    assertTrue(e.getMessage().contains("std.green = 0.0"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new TilePreprocessor.Config(4,
        new TilePreprocessor.PerChannel(Float.NaN, 0f, 0f), ok, StainNormalizers.none()));
    assertTrue(e.getMessage().contains("mean.red = NaN"), e.getMessage());
  }

  @Test
  void describeNamesEverythingThatDeterminesTheFloats() {
    assertEquals("size=224,mean=[0.485,0.456,0.406],std=[0.229,0.224,0.225],stain=none",
        TilePreprocessor.Config.imagenet(224).describe());
  }

  @Test
  void otherStatisticsUseTheSameTables() {
    // CLIP's statistics (CONCH and other CLIP-trained encoders) through the same formula.
    TilePreprocessor pre = new TilePreprocessor(TilePreprocessor.Config.of(1,
        TilePreprocessor.Config.CLIP_MEAN, TilePreprocessor.Config.CLIP_STD));
    assertPixel(pre, 0x80ff00, (128f / 255f - 0.48145466f) / 0.26862954f,
        (1f - 0.4578275f) / 0.26130258f, (0f - 0.40821073f) / 0.27577711f);
    assertEquals(new TilePreprocessor.PerChannel(0.5f, 0.25f, 1f),
        TilePreprocessor.PerChannel.parse(" [0.5, 0.25,1] ", "--mean"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TilePreprocessor.PerChannel.parse("0.5,0.25", "--std"));
    assertEquals("--std '0.5,0.25': give three comma-separated numbers (red,green,blue), e.g. "
        + "0.485,0.456,0.406", e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> TilePreprocessor.PerChannel.parse("0.5,x,1", "--mean"));
    assertEquals("--mean '0.5,x,1': 'x' is not a number", e.getMessage());
  }

  private static void assertPixel(TilePreprocessor pre, int rgb, float r, float g, float b) {
    float[] out = new float[3];
    pre.toChw(new int[] {rgb}, 1, 1, out, 0);
    assertArrayEquals(new float[] {r, g, b}, out, 0f, Integer.toHexString(rgb));
  }

  private static int[] randomTile(int s, long seed) {
    Random rnd = new Random(seed);
    int[] rgb = new int[s * s];
    for (int i = 0; i < rgb.length; i++) {
      rgb[i] = rnd.nextInt(1 << 24);
    }
    return rgb;
  }

  /**
   * A stand-in normaliser that does not commute with averaging, so running it before instead of
   * after the resize would change the result.
   */
  private static final class Thresholding implements StainNormalizer {
    @Override
    public int[] normalize(int[] rgb, int w, int h) {
      assertEquals(4, w);
      assertEquals(4, h);
      int[] out = new int[rgb.length];
      for (int i = 0; i < rgb.length; i++) {
        for (int shift = 16; shift >= 0; shift -= 8) {
          out[i] |= ((rgb[i] >> shift) & 0xff) > 128 ? 0xff << shift : 0;
        }
      }
      return out;
    }

    @Override
    public String describe() {
      return "threshold";
    }
  }
}
