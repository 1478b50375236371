package org.tessera.wsi.synth;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The {@code vips} command line, which turns a flat image into a tiled, JPEG-compressed pyramidal
 * TIFF that OpenSlide reads. Running the CLI keeps a native image library out of this JVM.
 */
final class Vips {
  static final String MISSING = "vips not found: install it with `apt-get install -y libvips-tools`";

  private Vips() {}

  /** The {@code vips} executable on the PATH. */
  static Path locate() {
    String path = System.getenv("PATH");
    if (path != null) {
      for (String dir : path.split(File.pathSeparator)) {
        if (dir.isEmpty()) {
          continue;
        }
        Path candidate = Path.of(dir, "vips");
        if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
          return candidate;
        }
      }
    }
    throw new IllegalStateException(MISSING);
  }

  /** Writes {@code in} as a pyramidal tiled TIFF of JPEG tiles to {@code out}. */
  static void tiffPyramid(Path vips, Path in, Path out, int tileSize, int quality, long timeoutSeconds)
      throws IOException {
    List<String> cmd = List.of(vips.toString(), "tiffsave", in.toString(), out.toString(),
        "--tile", "--tile-width", Integer.toString(tileSize), "--tile-height", Integer.toString(tileSize),
        "--pyramid", "--compression", "jpeg", "--Q", Integer.toString(quality));
    Path log = Files.createTempFile(out.toAbsolutePath().getParent(), ".vips-", ".log");
    try {
      Process p = new ProcessBuilder(cmd)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .redirectError(log.toFile())
          .start();
      boolean done;
      try {
        done = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while vips was writing " + out, e);
      }
      if (!done) {
        p.destroyForcibly();
        throw new IOException("vips did not finish writing " + out + " within " + timeoutSeconds + " s");
      }
      if (p.exitValue() != 0) {
        String err = Files.readString(log, StandardCharsets.UTF_8).strip().replace('\n', ' ');
        throw new IOException("vips tiffsave failed (exit " + p.exitValue() + ") writing " + out + ": " + err);
      }
    } finally {
      Files.deleteIfExists(log);
    }
  }
}
