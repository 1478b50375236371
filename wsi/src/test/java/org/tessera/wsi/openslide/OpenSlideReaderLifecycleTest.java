package org.tessera.wsi.openslide;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OpenSlideReaderLifecycleTest {
  @TempDir static Path dir;
  private static TestSlides slides;

  @BeforeAll
  static void build() throws IOException {
    slides = TestSlides.shared();
  }

  @Test
  void closeIsIdempotentAndUseAfterCloseNamesTheFile() throws IOException {
    OpenSlideReader reader = OpenSlideReader.open(slides.aperio);
    reader.readArgb(0, 0, 0, 16, 16);
    reader.close();
    assertDoesNotThrow(reader::close);

    IOException read = assertThrows(IOException.class, () -> reader.readArgb(0, 0, 0, 16, 16));
    assertEquals("slide " + slides.aperio + " is closed; open it again to read from it",
        read.getMessage());
    IOException label = assertThrows(IOException.class, () -> reader.associatedImage("label"));
    assertEquals(read.getMessage(), label.getMessage());
    assertEquals("aperio", reader.metadata().vendor(), "metadata outlives the handle");
  }

  @Test
  void aFailedReadIsStickyAndNamesTheFileAndOpenSlidesMessage() throws IOException {
    Path damaged = Files.copy(slides.genericTiff, dir.resolve("cut-short.tif"));
    // Tile 12 is row 1, column 1 of level 0's 11-tile-wide grid: pixels (256..511, 256..511).
    TiffSurgery.pointTileBeyondEnd(damaged, 0, 12);

    try (OpenSlideReader reader = OpenSlideReader.open(damaged)) {
      reader.readArgb(0, 0, 0, 256, 256);
      IOException first = assertThrows(IOException.class,
          () -> reader.readArgb(256, 256, 0, 256, 256));
      String message = first.getMessage();
      assertTrue(message.startsWith("cannot read slide " + damaged + ": OpenSlide reports \""),
          message);
      assertTrue(message.contains("Cannot read raw tile"), message);
      assertFalse(message.contains("\n"), message);

      // The same handle now fails everything, even reads that worked before the error...
      IOException later = assertThrows(IOException.class, () -> reader.readArgb(0, 0, 0, 256, 256));
      assertEquals(message, later.getMessage());
      // ...and calls that would not touch pixels at all.
      IOException associated =
          assertThrows(IOException.class, () -> reader.associatedImage("label"));
      assertEquals(message, associated.getMessage());
    }

    try (OpenSlideReader reopened = OpenSlideReader.open(damaged)) {
      assertEquals(256 * 256, reopened.readArgb(0, 0, 0, 256, 256).length,
          "reopening gives a fresh handle");
    }
  }
}
