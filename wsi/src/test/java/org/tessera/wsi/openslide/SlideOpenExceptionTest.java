package org.tessera.wsi.openslide;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every kind of bad input fails to open with one line that names the file and says what to do. */
class SlideOpenExceptionTest {
  private static final String UNRECOGNISED =
      "not a format OpenSlide recognises (vendor detection failed); supported: ";

  @TempDir static Path dir;
  private static TestSlides slides;

  @BeforeAll
  static void build() throws IOException {
    slides = TestSlides.shared();
  }

  @Test
  void missingFile() {
    assertProblem(dir.resolve("nowhere.svs"), "no such file; check the path");
  }

  @Test
  void directory() {
    assertProblem(dir, "is a directory; pass the slide file itself");
  }

  @Test
  void emptyFile() throws IOException {
    assertProblem(Files.createFile(dir.resolve("empty.svs")), "the file is empty (0 bytes)");
  }

  @Test
  void truncatedFile() throws IOException {
    // vips writes each level's directory after its tiles, so a copy cut short loses directories.
    byte[] whole = Files.readAllBytes(slides.genericTiff);
    Path truncated = Files.write(dir.resolve("truncated.tif"),
        Arrays.copyOf(whole, whole.length * 3 / 5));
    assertProblem(truncated, "a TIFF that OpenSlide does not recognise as a slide: it is probably"
        + " truncated or corrupt (copy it again from the source)");
  }

  @Test
  void aFileThatFailsWhileOpening() throws IOException {
    // OpenSlide recognises the file but fails hashing the smallest level, whose tile is gone: the
    // handle comes back in an error state and must be closed and reported, not returned.
    Path cut = Files.copy(slides.genericTiff, dir.resolve("cut-tail.tif"));
    int smallest = 4;
    TiffSurgery.pointTileBeyondEnd(cut, smallest, 0);
    assertProblem(cut, "OpenSlide reports \"Cannot hash TIFF tiles");
    assertProblem(cut, "the file is probably truncated or corrupt: copy it again from the source");
  }

  @Test
  void randomBytesNamedLikeSlides() throws IOException {
    byte[] noise = new byte[100_000];
    new Random(7).nextBytes(noise);
    assertProblem(Files.write(dir.resolve("noise.tif"), noise), UNRECOGNISED + "Aperio SVS");
    assertProblem(Files.write(dir.resolve("noise.svs"), noise), UNRECOGNISED + "Aperio SVS");
  }

  @Test
  void unsupportedFormats() throws IOException {
    assertProblem(slides.png, UNRECOGNISED);
    assertProblem(Files.copy(slides.png, dir.resolve("png-in-disguise.tif")), UNRECOGNISED);
    assertProblem(Files.writeString(dir.resolve("notes.txt"), "not a slide\n"), UNRECOGNISED);
  }

  @Test
  void aTiffThatIsNotATiledPyramid() throws IOException {
    TestSlides.vips(dir, "tiffsave", slides.png.toString(), "stripped.tif");
    assertProblem(dir.resolve("stripped.tif"),
        "or it is not a tiled pyramid (re-save it with `vips tiffsave --tile --pyramid`)");
  }

  @Test
  void survivesJavaSerializationAsSparkShipsTaskFailures() throws Exception {
    SlideOpenException original = new SlideOpenException(dir.resolve("a.svs"), "broken");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(original);
    }
    try (ObjectInputStream in =
        new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      SlideOpenException copy = (SlideOpenException) in.readObject();
      assertEquals(original.getMessage(), copy.getMessage());
      assertEquals(original.file(), copy.file());
    }
  }

  private static void assertProblem(Path file, String expectedPart) {
    Path absolute = file.toAbsolutePath().normalize();
    SlideOpenException e = assertThrows(SlideOpenException.class, () -> OpenSlideReader.open(file));
    String message = e.getMessage();
    assertTrue(message.startsWith("cannot open slide " + absolute + ": "), message);
    assertTrue(message.contains(expectedPart), message);
    assertFalse(message.contains("\n"), "one line: " + message);
    assertEquals(absolute, e.file());
  }
}
