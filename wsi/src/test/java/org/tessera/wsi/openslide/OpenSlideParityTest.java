package org.tessera.wsi.openslide;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tessera.wsi.LevelInfo;
import org.tessera.wsi.SlideMetadata;

/**
 * Everything OpenSlideReader reports must equal what python-openslide 1.2.0 reports for the same
 * file: pixels byte for byte (as SHA-256 of the RGBA bytes), levels, downsamples to the bit,
 * properties, associated images, vendor and library version.
 */
class OpenSlideParityTest {
  // {x, y, level, width, height}, x and y in level-0 pixels, on a 2600x1900 slide.
  private static final List<long[]> REGIONS = List.of(
      new long[] {0, 0, 0, 256, 256},          // first tile
      new long[] {768, 512, 0, 256, 256},      // interior tile
      new long[] {1001, 777, 0, 300, 211},     // unaligned, spans tiles
      new long[] {2400, 100, 0, 256, 256},     // past the right edge
      new long[] {100, 1800, 0, 256, 256},     // past the bottom edge
      new long[] {2500, 1800, 0, 256, 256},    // past both
      new long[] {-100, -50, 0, 256, 256},     // partly negative
      new long[] {-300, -300, 0, 256, 256},    // wholly outside
      new long[] {2599, 1899, 0, 2, 2},        // the last pixel and beyond
      new long[] {1, 1, 0, 1, 1},              // one pixel
      new long[] {0, 0, 1, 256, 256},          // level 1 tile
      new long[] {515, 301, 1, 200, 333},      // odd level-0 origin: half-pixel offset at level 1
      new long[] {0, 0, 2, 650, 475},          // a whole level
      new long[] {1234, 567, 3, 100, 80},      // non-power-of-two downsample
      new long[] {2500, 1850, 3, 64, 64},      // past the edge there
      new long[] {-37, -41, 4, 300, 300});     // top level, negative and past both edges

  @TempDir static Path dir;
  private static TestSlides slides;
  private static PythonOpenSlide python;

  @BeforeAll
  static void build() throws IOException {
    slides = TestSlides.shared();
    python = PythonOpenSlide.in(dir);
  }

  @Test
  void genericTiffMatchesPythonOpenSlide() throws IOException {
    assertParity(slides.genericTiff);
  }

  @Test
  void aperioWithLabelMatchesPythonOpenSlide() throws IOException {
    assertParity(slides.aperio);
  }

  @Test
  void theRegionsExerciseEveryAlphaCase() throws IOException {
    boolean transparent = false;
    boolean partial = false;
    try (OpenSlideReader reader = OpenSlideReader.open(slides.genericTiff)) {
      for (long[] r : REGIONS) {
        for (int p : reader.readArgb(r[0], r[1], (int) r[2], (int) r[3], (int) r[4])) {
          int a = p >>> 24;
          transparent |= a == 0;
          partial |= a > 0 && a < 255;
        }
      }
    }
    assertTrue(transparent, "no region reads outside the slide");
    assertTrue(partial, "no region has partly transparent pixels: un-premultiply goes untested");
  }

  private static void assertParity(Path slide) throws IOException {
    List<String> expected = new ArrayList<>(python.describe(slide, REGIONS));
    List<String> actual = new ArrayList<>();
    actual.add("library " + OpenSlideLoader.version());
    try (OpenSlideReader reader = OpenSlideReader.open(slide)) {
      SlideMetadata metadata = reader.metadata();
      actual.add("vendor " + metadata.vendor());
      for (LevelInfo level : metadata.levels()) {
        actual.add("level " + level.index() + " " + level.width() + " " + level.height() + " "
            + Double.doubleToLongBits(level.downsample()));
      }
      for (Map.Entry<String, String> p : metadata.properties().entrySet()) {
        actual.add("property " + PythonOpenSlide.utf8Hex(p.getKey()) + " "
            + PythonOpenSlide.utf8Hex(p.getValue()));
      }
      for (String name : metadata.associatedImages()) {
        var image = reader.associatedImage(name).orElseThrow();
        int[] argb = image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0,
            image.getWidth());
        actual.add("associated " + PythonOpenSlide.utf8Hex(name) + " " + image.getWidth() + " "
            + image.getHeight() + " " + PythonOpenSlide.sha256(PythonOpenSlide.rgbaBytes(argb)));
      }
      for (long[] r : REGIONS) {
        int[] argb = reader.readArgb(r[0], r[1], (int) r[2], (int) r[3], (int) r[4]);
        actual.add("region " + r[0] + " " + r[1] + " " + r[2] + " " + r[3] + " " + r[4] + " "
            + PythonOpenSlide.sha256(PythonOpenSlide.rgbaBytes(argb)));
      }
    }
    // Property and associated-image order is a hash order on both sides; the lines are unique.
    expected.sort(null);
    actual.sort(null);
    assertEquals(String.join("\n", expected), String.join("\n", actual));
  }
}
