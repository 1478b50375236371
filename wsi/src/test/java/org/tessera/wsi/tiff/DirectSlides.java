package org.tessera.wsi.tiff;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Slides in the layouts the direct reader must read exactly as OpenSlide does, built at test time
 * with the {@code vips} CLI from the vendored IHC texture: 2600x1900 at level 0 (partial edge tiles
 * both ways), vips halving it into levels whose deeper downsamples are not exact.
 */
final class DirectSlides {
  static final int WIDTH = 2600;
  static final int HEIGHT = 1900;
  private static final String TEXTURE = "/org/tessera/wsi/synth/ihc.png";

  private static Path dir;

  private DirectSlides() {}

  /** The folder with the mosaic the slides are saved from (built once per JVM). */
  static synchronized Path dir() throws IOException {
    if (dir == null) {
      Path d = Files.createTempDirectory("direct-tiff-slides");
      try (InputStream in = DirectSlides.class.getResourceAsStream(TEXTURE)) {
        if (in == null) {
          fail(TEXTURE + " is not on the test classpath");
        }
        Files.copy(in, d.resolve("ihc.png"));
      }
      vips(d, "replicate", "ihc.png", "replicated.v", "6", "4");
      vips(d, "crop", "replicated.v", "mosaic.v", "0", "0", "" + WIDTH, "" + HEIGHT);
      dir = d;
    }
    return dir;
  }

  /** Saves the mosaic as {@code name} with {@code vips tiffsave} and these extra options. */
  static synchronized Path save(String name, String... options) throws IOException {
    Path d = dir();
    Path out = d.resolve(name);
    if (!Files.exists(out)) {
      List<String> args = new ArrayList<>(List.of("tiffsave", "mosaic.v", name));
      args.addAll(List.of(options));
      vips(d, args.toArray(String[]::new));
    }
    return out;
  }

  static void vips(Path dir, String... args) throws IOException {
    List<String> command = new ArrayList<>();
    command.add("vips");
    command.addAll(List.of(args));
    Process process;
    try {
      process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
          .start();
    } catch (IOException e) {
      throw new AssertionError("the vips CLI is needed to build test slides and was not found"
          + " (" + e.getMessage() + "): install it with `apt-get install -y libvips-tools`", e);
    }
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      if (process.waitFor() != 0) {
        fail(String.join(" ", command) + " failed with exit code " + process.exitValue() + ":\n"
            + output);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while running " + String.join(" ", command), e);
    }
  }
}
