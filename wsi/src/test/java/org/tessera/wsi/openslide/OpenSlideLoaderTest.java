package org.tessera.wsi.openslide;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.NativeLibrary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OpenSlideLoaderTest {

  @Test
  void loadsTheInstalledLibrary() {
    assertTrue(OpenSlideLoader.isAvailable(),
        "libopenslide must be installed for these tests: apt-get install -y libopenslide0");
    assertDoesNotThrow(OpenSlideLoader::load);
    String version = OpenSlideLoader.version();
    assertTrue(version.matches("\\d+\\.\\d+\\.\\d+.*"), version);
  }

  @Test
  void anExplicitLibraryPathIsUsed() {
    String path = NativeLibrary.getInstance("openslide").getFile().getPath();
    assertEquals(Optional.empty(), OpenSlideLoader.attempt(path));
  }

  @Test
  void aMissingExplicitLibraryIsOneLineNamingThePathAndTheProperty() {
    String message = failureFor("/nonexistent/libopenslide.so.0");
    assertTrue(message.contains("/nonexistent/libopenslide.so.0"), message);
    assertTrue(message.contains("-D" + OpenSlideLoader.LIBRARY_PROPERTY), message);
    assertTrue(message.contains("No such file"), message);
  }

  @Test
  void aFileThatIsNotALibraryIsOneLineWithTheLinkersReason(@TempDir Path dir) throws IOException {
    Path notALibrary =
        Files.writeString(dir.resolve("libopenslide.so.0"), "not a shared library\n".repeat(50));
    String message = failureFor(notALibrary.toString());
    assertTrue(message.contains(notALibrary.toString()), message);
    assertTrue(message.contains("invalid ELF header"), message);
  }

  @Test
  void aLibraryWithoutTheOpenSlideSymbolsAsksForOpenSlide34() {
    // libc loads fine but has none of the symbols, which is what an OpenSlide older than 3.4
    // (no openslide_detect_vendor) looks like to the binder.
    String message = failureFor("libc.so.6");
    assertTrue(message.contains("not a usable libopenslide"), message);
    assertTrue(message.contains("OpenSlide 3.4 or newer"), message);
  }

  private static String failureFor(String explicitPath) {
    OpenSlideLoader.Failure failure = OpenSlideLoader.attempt(explicitPath).orElseThrow();
    String message = failure.message();
    assertFalse(message.contains("\n"), "must be one line: " + message);
    return message;
  }
}
