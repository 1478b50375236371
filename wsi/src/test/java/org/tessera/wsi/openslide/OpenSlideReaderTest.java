package org.tessera.wsi.openslide;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.tessera.wsi.LevelInfo;
import org.tessera.wsi.SlideMetadata;
import org.tessera.wsi.region.RegionRequest;

class OpenSlideReaderTest {
  private static TestSlides slides;
  private static OpenSlideReader generic;
  private static OpenSlideReader aperio;

  @BeforeAll
  static void open() throws IOException {
    slides = TestSlides.shared();
    generic = OpenSlideReader.open(slides.genericTiff);
    aperio = OpenSlideReader.open(slides.aperio);
  }

  @AfterAll
  static void close() {
    generic.close();
    aperio.close();
  }

  @Test
  void genericTiffPyramid() {
    SlideMetadata m = generic.metadata();
    assertEquals("generic-tiff", m.vendor());
    assertEquals(5, m.levelCount());
    assertEquals(new LevelInfo(0, TestSlides.WIDTH, TestSlides.HEIGHT, 1.0), m.level(0));
    assertEquals(new LevelInfo(1, 1300, 950, 2.0), m.level(1));
    for (LevelInfo level : m.levels()) {
      // vips halves each level, rounding down; OpenSlide averages the two axis ratios.
      LevelInfo above = m.level(Math.max(0, level.index() - 1));
      assertEquals(level.index() == 0 ? above.width() : above.width() / 2, level.width());
      assertEquals(level.index() == 0 ? above.height() : above.height() / 2, level.height());
      double expected = ((double) m.width() / level.width() + (double) m.height() / level.height())
          / 2;
      assertEquals(expected, level.downsample(), 1e-12, "level " + level.index());
    }
    assertTrue(m.level(3).downsample() > 8.0, "325x237 is not an exact eighth of 2600x1900");
    assertEquals("generic-tiff", m.properties().get("openslide.vendor"));
    assertEquals("5", m.properties().get("openslide.level-count"));
  }

  @Test
  void genericTiffRecordsNoPhysicalSizeAndNoAssociatedImages() throws IOException {
    SlideMetadata m = generic.metadata();
    assertEquals(OptionalDouble.empty(), m.mppX());
    assertEquals(OptionalDouble.empty(), m.mppY());
    assertEquals(OptionalDouble.empty(), m.objectivePower());
    assertEquals(List.of(), m.associatedImages());
    assertEquals(Optional.empty(), generic.associatedImage("label"));
    assertEquals(Optional.empty(), generic.associatedImage("thumbnail"));
  }

  @Test
  void aperioVendorAndPhysicalSize() {
    SlideMetadata m = aperio.metadata();
    assertEquals("aperio", m.vendor());
    assertEquals(OptionalDouble.of(TestSlides.MPP), m.mppX());
    assertEquals(OptionalDouble.of(TestSlides.MPP), m.mppY());
    assertEquals(OptionalDouble.of(TestSlides.MPP), m.mpp());
    assertEquals(OptionalDouble.of(TestSlides.OBJECTIVE_POWER), m.objectivePower());
    assertEquals("40", m.properties().get("aperio.AppMag"));
    assertEquals("0.2500", m.properties().get("aperio.MPP"));
    assertEquals(generic.metadata().levels(), m.levels());
  }

  @Test
  void aperioLabelReadsBackExactly() throws IOException {
    assertEquals(List.of("label"), aperio.metadata().associatedImages());
    BufferedImage label = aperio.associatedImage("label").orElseThrow();
    assertEquals(BufferedImage.TYPE_INT_ARGB, label.getType());
    BufferedImage stored = slides.label;
    assertEquals(stored.getWidth(), label.getWidth());
    assertEquals(stored.getHeight(), label.getHeight());
    for (int y = 0; y < stored.getHeight(); y++) {
      for (int x = 0; x < stored.getWidth(); x++) {
        // Stored uncompressed and opaque, so every pixel must survive exactly.
        assertEquals(0xff000000 | stored.getRGB(x, y), label.getRGB(x, y), "at " + x + "," + y);
      }
    }
    assertEquals(Optional.empty(), aperio.associatedImage("macro"));
  }

  @Test
  void readsAreOpaqueInsideTransparentOutsideAndSizedAsAsked() throws IOException {
    int[] inside = generic.readArgb(1000, 700, 0, 300, 211);
    assertEquals(300 * 211, inside.length);
    assertTrue(Arrays.stream(inside).allMatch(p -> p >>> 24 == 255));
    int[] outside = generic.readArgb(-500, TestSlides.HEIGHT + 10, 0, 64, 64);
    assertTrue(Arrays.stream(outside).allMatch(p -> p == 0));
    int[] straddling = generic.readArgb(TestSlides.WIDTH - 10, 0, 0, 20, 1);
    for (int i = 0; i < 20; i++) {
      assertEquals(i < 10 ? 255 : 0, straddling[i] >>> 24, "pixel " + i);
    }
  }

  @Test
  void aRegionLargerThanTheKeptBufferEqualsItsQuadrants() throws IOException {
    // 1100x1000 pixels is over the 4 MiB a thread keeps, so this takes the one-off buffer path.
    int w = 1100;
    int h = 1000;
    int[] whole = generic.readArgb(333, 222, 0, w, h);
    int[] left = generic.readArgb(333, 222, 0, 550, h);
    int[] right = generic.readArgb(333 + 550, 222, 0, 550, h);
    for (int y = 0; y < h; y++) {
      assertArrayEquals(Arrays.copyOfRange(left, y * 550, (y + 1) * 550),
          Arrays.copyOfRange(whole, y * w, y * w + 550), "row " + y);
      assertArrayEquals(Arrays.copyOfRange(right, y * 550, (y + 1) * 550),
          Arrays.copyOfRange(whole, y * w + 550, (y + 1) * w), "row " + y);
    }
    int[] tile = generic.readArgb(0, 0, 0, 256, 256);
    assertArrayEquals(tile, generic.readArgb(0, 0, 0, 256, 256), "small reads after a large one");
  }

  @Test
  void theSharedReadRgbDefaultWorksOnTopOfReadArgb() throws IOException {
    BufferedImage rgb = generic.readRgb(new RegionRequest(TestSlides.WIDTH - 8, 0, 0, 16, 4),
        0x00ff00);
    assertEquals(0x00ff00, rgb.getRGB(15, 0) & 0xffffff, "outside the slide is the background");
    assertEquals(generic.readArgb(TestSlides.WIDTH - 8, 0, 0, 1, 1)[0] & 0xffffff,
        rgb.getRGB(0, 0) & 0xffffff);
  }

  @Test
  void badArgumentsAreRejectedWithClearMessages() {
    IllegalArgumentException level =
        assertThrows(IllegalArgumentException.class, () -> generic.readArgb(0, 0, 5, 10, 10));
    assertEquals("level 5 does not exist: the slide has levels 0..4", level.getMessage());
    assertThrows(IllegalArgumentException.class, () -> generic.readArgb(0, 0, -1, 10, 10));
    IllegalArgumentException size =
        assertThrows(IllegalArgumentException.class, () -> generic.readArgb(0, 0, 0, 0, 10));
    assertEquals("region size must be positive, got 0x10 at level 0", size.getMessage());
    assertThrows(IllegalArgumentException.class, () -> generic.readArgb(0, 0, 0, 10, -1));
    IllegalArgumentException huge = assertThrows(IllegalArgumentException.class,
        () -> generic.readArgb(0, 0, 0, 100_000, 100_000));
    assertTrue(huge.getMessage().contains("read it in tiles"), huge.getMessage());
    assertThrows(NullPointerException.class, () -> generic.associatedImage(null));
  }
}
