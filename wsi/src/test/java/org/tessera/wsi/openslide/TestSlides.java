package org.tessera.wsi.openslide;

import static org.junit.jupiter.api.Assertions.fail;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.tessera.wsi.synth.TiffDescription;

/**
 * Real pyramidal slides built at test time from the vendored IHC texture with the {@code vips} CLI,
 * so the tests exercise OpenSlide's own TIFF and Aperio readers without checking in megabytes of
 * binaries.
 *
 * <p>Level 0 is 2600x1900, not a multiple of the 256-pixel tile, so edge tiles are partial; vips
 * halves it down to 162x118, giving five levels, one with a non-power-of-two downsample.
 */
final class TestSlides {
  static final int WIDTH = 2600;
  static final int HEIGHT = 1900;
  static final double MPP = 0.25;
  static final double OBJECTIVE_POWER = 40;
  static final String TEXTURE = "/org/tessera/wsi/synth/ihc.png";

  /** A generic tiled TIFF, as {@code vips tiffsave --tile --pyramid} writes it. */
  final Path genericTiff;
  /** The same pyramid with an Aperio ImageDescription and a stripped "label" image appended. */
  final Path aperio;
  /** The pixels stored, uncompressed, as the Aperio slide's label. */
  final BufferedImage label;
  /** The vendored texture itself, a PNG. */
  final Path png;

  private TestSlides(Path genericTiff, Path aperio, BufferedImage label, Path png) {
    this.genericTiff = genericTiff;
    this.aperio = aperio;
    this.label = label;
    this.png = png;
  }

  private static TestSlides shared;

  /**
   * One set of slides per test JVM: vips takes a while to build them, and tests only read them
   * (a test that damages a slide damages a copy).
   */
  static synchronized TestSlides shared() throws IOException {
    if (shared == null) {
      shared = build(Files.createTempDirectory("openslide-test-slides"));
    }
    return shared;
  }

  static TestSlides build(Path dir) throws IOException {
    Path png = dir.resolve("ihc.png");
    try (InputStream in = TestSlides.class.getResourceAsStream(TEXTURE)) {
      if (in == null) {
        fail(TEXTURE + " is not on the test classpath");
      }
      Files.copy(in, png);
    }
    // 6x4 copies of the 512x512 texture, cut to a size that is not a multiple of the tile.
    vips(dir, "replicate", "ihc.png", "replicated.v", "6", "4");
    vips(dir, "crop", "replicated.v", "mosaic.v", "0", "0", "" + WIDTH, "" + HEIGHT);
    vips(dir, "tiffsave", "mosaic.v", "generic.tif", "--tile", "--tile-width", "256",
        "--tile-height", "256", "--pyramid", "--compression", "jpeg", "--Q", "85");
    Files.delete(dir.resolve("replicated.v"));
    Files.delete(dir.resolve("mosaic.v"));
    Path generic = dir.resolve("generic.tif");

    Path aperio = dir.resolve("aperio.svs");
    Files.copy(generic, aperio);
    TiffDescription.set(aperio, "Aperio Image Library v10.0.51\n" + WIDTH + "x" + HEIGHT
        + " [0,0 " + WIDTH + "x" + HEIGHT + "] (256x256) JPEG/RGB Q=85|AppMag = 40|MPP = 0.2500");
    BufferedImage texture = ImageIO.read(png.toFile());
    BufferedImage label = texture.getSubimage(100, 200, 97, 61);
    TiffSurgery.appendStrippedRgb(aperio, label, "Aperio Image Library v10.0.51\nlabel 97x61");
    return new TestSlides(generic, aperio, label, png);
  }

  /** Runs the vips CLI in dir; fails the test, with the fix, when vips is missing or fails. */
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
