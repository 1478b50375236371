package org.tessera.wsi.tiff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.tessera.wsi.ReaderKind;
import org.tessera.wsi.SlideReader;
import org.tessera.wsi.SlideReaders;
import org.tessera.wsi.openslide.OpenSlideReader;
import org.tessera.wsi.openslide.SlideOpenException;

/**
 * What {@code auto} hands to OpenSlide, each with its reason; {@code direct} refuses the same files
 * with that reason, and {@code openslide} never uses the direct reader.
 */
class AutoFallbackTest {

  static Stream<Arguments> refused() throws IOException {
    String[] pyramid = {"--tile", "--tile-width", "256", "--tile-height", "256", "--pyramid"};
    return Stream.of(
        Arguments.of(DirectSlides.save("rgb-jpeg.tif", concat(pyramid, "--compression", "jpeg",
            "--Q", "95")), "JPEG tiles with photometric interpretation 2", true),
        Arguments.of(DirectSlides.save("lzw.tif", concat(pyramid, "--compression", "lzw")),
            "tiles with compression 5", true),
        Arguments.of(DirectSlides.save("deflate.tif", concat(pyramid, "--compression",
            "deflate")), "tiles with compression 8", true),
        Arguments.of(DirectSlides.save("stripped.tif", "--compression", "jpeg"),
            "not a slide OpenSlide recognises", false),
        Arguments.of(DirectSlides.dir().resolve("ihc.png"), "not a TIFF file", false));
  }

  private static String[] concat(String[] a, String... b) {
    return Stream.concat(Stream.of(a), Stream.of(b)).toArray(String[]::new);
  }

  @ParameterizedTest(name = "{1}")
  @MethodSource("refused")
  void autoHandsToOpenSlideWithTheReason(Path file, String reason, boolean openSlideReadsIt)
      throws IOException {
    Optional<String> refusal = SlideReaders.directReaderRefusal(file);
    assertTrue(refusal.isPresent() && refusal.get().startsWith(reason),
        file + ": expected '" + reason + "', got " + refusal);
    SlideOpenException e = assertThrows(SlideOpenException.class,
        () -> SlideReaders.open(file, ReaderKind.DIRECT));
    assertTrue(e.getMessage().contains(reason), e.getMessage());
    assertEquals("openslide", SlideReaders.implementation(file, ReaderKind.AUTO));
    if (openSlideReadsIt) {
      try (SlideReader auto = SlideReaders.open(file, ReaderKind.AUTO)) {
        assertInstanceOf(OpenSlideReader.class, auto);
        assertEquals(256 * 256, auto.readArgb(0, 0, 0, 256, 256).length);
      }
    } else {
      assertThrows(SlideOpenException.class, () -> SlideReaders.open(file, ReaderKind.AUTO));
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("org.tessera.wsi.tiff.DirectTiffReaderTest#layouts")
  void openSlideKindNeverReadsDirectly(String layout, Path slide) throws IOException {
    try (SlideReader r = SlideReaders.open(slide, ReaderKind.OPENSLIDE)) {
      assertInstanceOf(OpenSlideReader.class, r, layout);
      assertEquals("openslide", SlideReaders.implementation(r));
    }
    assertEquals("direct", SlideReaders.implementation(slide, ReaderKind.AUTO), layout);
  }
}
