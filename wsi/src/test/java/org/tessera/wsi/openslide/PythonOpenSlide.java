package org.tessera.wsi.openslide;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;

/**
 * python-openslide as the reference our pixels must match, driven through {@code
 * openslide_oracle.py}. It runs Debian's {@code /usr/bin/python3} by full path: a {@code python3}
 * earlier on PATH (pyenv, conda) usually lacks the openslide module. A missing interpreter or
 * module fails the test rather than skipping it, since skipping would silently drop the parity
 * check.
 */
final class PythonOpenSlide {
  static final Path PYTHON = Path.of("/usr/bin/python3");
  private static final String SCRIPT = "openslide_oracle.py";
  // What the oracle prints; anything else on the merged output is a libtiff warning.
  private static final Pattern ORACLE_LINE =
      Pattern.compile("(library|vendor|level|property|associated|region) ");

  private final Path script;

  private PythonOpenSlide(Path script) {
    this.script = script;
  }

  /** Checks the interpreter and module, and unpacks the oracle script into dir. */
  static PythonOpenSlide in(Path dir) throws IOException {
    String fix = ": install it with `apt-get install -y python3-openslide`";
    if (!Files.isExecutable(PYTHON)) {
      fail(PYTHON + " is missing; the pixel-parity tests need Debian's python3-openslide" + fix);
    }
    Result probe = run(List.of(PYTHON.toString(), "-c", "import openslide"), "");
    if (probe.exitCode != 0) {
      fail(PYTHON + " cannot import openslide" + fix + "\n" + probe.output);
    }
    Path script = dir.resolve(SCRIPT);
    try (InputStream in = PythonOpenSlide.class.getResourceAsStream(SCRIPT)) {
      if (in == null) {
        fail(SCRIPT + " is not on the test classpath");
      }
      Files.copy(in, script);
    }
    return new PythonOpenSlide(script);
  }

  /**
   * The oracle's description of a slide plus one "region x y level w h sha256" line per region,
   * each region given as {x, y, level, width, height}.
   */
  List<String> describe(Path slide, List<long[]> regions) throws IOException {
    StringBuilder input = new StringBuilder();
    for (long[] r : regions) {
      input.append(r[0]).append(' ').append(r[1]).append(' ').append(r[2]).append(' ')
          .append(r[3]).append(' ').append(r[4]).append('\n');
    }
    Result result = run(
        List.of(PYTHON.toString(), script.toString(), "slide", slide.toString()), input.toString());
    if (result.exitCode != 0) {
      fail("python-openslide failed on " + slide + ":\n" + result.output);
    }
    return result.output.lines().filter(line -> ORACLE_LINE.matcher(line).lookingAt()).toList();
  }

  /** Python-openslide's conversion of premultiplied ARGB words, as RGBA bytes. */
  byte[] argb2rgba(Path dir, byte[] nativeOrderWords) throws IOException {
    Path in = dir.resolve("words.bin");
    Path out = dir.resolve("rgba.bin");
    Files.write(in, nativeOrderWords);
    Result result = run(
        List.of(PYTHON.toString(), script.toString(), "argb2rgba", in.toString(), out.toString()),
        "");
    if (result.exitCode != 0) {
      fail("python-openslide's argb2rgba failed:\n" + result.output);
    }
    return Files.readAllBytes(out);
  }

  /** Straight ARGB ints as the R, G, B, A bytes Python's RGBA images hold. */
  static byte[] rgbaBytes(int[] argb) {
    byte[] rgba = new byte[argb.length * 4];
    for (int i = 0; i < argb.length; i++) {
      int p = argb[i];
      rgba[4 * i] = (byte) (p >>> 16);
      rgba[4 * i + 1] = (byte) (p >>> 8);
      rgba[4 * i + 2] = (byte) p;
      rgba[4 * i + 3] = (byte) (p >>> 24);
    }
    return rgba;
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("every JVM has SHA-256", e);
    }
  }

  static String utf8Hex(String s) {
    return HexFormat.of().formatHex(s.getBytes(StandardCharsets.UTF_8));
  }

  private record Result(int exitCode, String output) {}

  // stdout and stderr are merged so that a failure message shows everything Python said.
  private static Result run(List<String> command, String input) throws IOException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    try (OutputStream stdin = process.getOutputStream()) {
      stdin.write(input.getBytes(StandardCharsets.UTF_8));
    }
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      return new Result(process.waitFor(), output);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while running " + command, e);
    }
  }
}
