package org.tessera.wsi.synth;

import static org.junit.jupiter.api.Assertions.fail;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;

/**
 * Reads slides through the Debian python3-openslide (libopenslide 3.4.1) in a subprocess: an
 * independent check that generated files are what OpenSlide expects, without depending on this
 * project's own OpenSlide binding. Missing python3-openslide fails the calling test, never skips
 * it, so a green build always means the slides were verified.
 */
public final class PyOpenSlide {
  /** The system interpreter; a pyenv python3 earlier on the PATH has no openslide module. */
  public static final Path PYTHON = Path.of("/usr/bin/python3");
  static final String INSTALL =
      "python3-openslide is needed to verify slides: apt-get install -y python3-openslide";

  private static final String SCRIPT = String.join("\n",
      "import sys",
      "import openslide",
      "s = openslide.OpenSlide(sys.argv[1])",
      "print('vendor=' + str(s.properties.get('openslide.vendor')))",
      "print('mpp_x=' + s.properties.get('openslide.mpp-x', ''))",
      "print('mpp_y=' + s.properties.get('openslide.mpp-y', ''))",
      "print('levels=' + ';'.join('%dx%d' % d for d in s.level_dimensions))",
      "print('downsamples=' + ';'.join(repr(d) for d in s.level_downsamples))",
      "if len(sys.argv) > 3:",
      "    from PIL import Image",
      "    level = int(sys.argv[2])",
      "    im = s.read_region((0, 0), level, s.level_dimensions[level])",
      "    bg = Image.new('RGB', im.size, (255, 255, 255))",
      "    bg.paste(im, mask=im.split()[3])",
      "    bg.save(sys.argv[3])",
      "");

  private PyOpenSlide() {}

  /** What OpenSlide reports about a slide. */
  public record Info(String vendor, OptionalDouble mppX, OptionalDouble mppY, List<long[]> levels,
      List<Double> downsamples) {}

  public static Info info(Path slide) {
    return parse(run(slide.toString()));
  }

  /** A whole pyramid level, composited over white as the tile reader does. */
  public static BufferedImage readLevel(Path slide, int level) throws IOException {
    Path png = Files.createTempFile("pyopenslide-", ".png");
    try {
      run(slide.toString(), Integer.toString(level), png.toString());
      BufferedImage img = ImageIO.read(png.toFile());
      if (img == null) {
        fail("python-openslide wrote no readable PNG for " + slide + " level " + level);
      }
      return img;
    } finally {
      Files.deleteIfExists(png);
    }
  }

  private static Info parse(String out) {
    Map<String, String> kv = new HashMap<>();
    for (String line : out.split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        kv.put(line.substring(0, eq), line.substring(eq + 1).trim());
      }
    }
    if (!kv.containsKey("levels")) {
      fail("unexpected python-openslide output: " + out);
    }
    List<long[]> levels = new ArrayList<>();
    for (String d : kv.get("levels").split(";")) {
      String[] wh = d.split("x");
      levels.add(new long[] {Long.parseLong(wh[0]), Long.parseLong(wh[1])});
    }
    List<Double> downsamples = new ArrayList<>();
    for (String d : kv.get("downsamples").split(";")) {
      downsamples.add(Double.parseDouble(d));
    }
    return new Info(kv.get("vendor"), number(kv.get("mpp_x")), number(kv.get("mpp_y")), levels,
        downsamples);
  }

  private static OptionalDouble number(String s) {
    return s == null || s.isEmpty() ? OptionalDouble.empty() : OptionalDouble.of(Double.parseDouble(s));
  }

  private static String run(String... args) {
    if (!Files.isExecutable(PYTHON)) {
      fail(PYTHON + " not found; " + INSTALL);
    }
    List<String> cmd = new ArrayList<>(List.of(PYTHON.toString(), "-c", SCRIPT));
    cmd.addAll(List.of(args));
    Path log = null;
    try {
      log = Files.createTempFile("pyopenslide-", ".out");
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        fail("python-openslide did not answer within 120 s for " + args[0]);
      }
      String out = Files.readString(log, StandardCharsets.UTF_8);
      if (p.exitValue() != 0) {
        if (out.contains("No module named 'openslide'") || out.contains("libopenslide")) {
          fail(INSTALL + " (" + out.strip().lines().reduce((a, b) -> b).orElse("") + ")");
        }
        fail("python-openslide failed on " + args[0] + ": " + out.strip());
      }
      return out;
    } catch (IOException e) {
      return fail("cannot run " + PYTHON + ": " + e.getMessage() + "; " + INSTALL);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return fail("interrupted while waiting for python-openslide");
    } finally {
      if (log != null) {
        try {
          Files.deleteIfExists(log);
        } catch (IOException ignored) {
          // A leftover temp file is harmless; the test result is what matters.
        }
      }
    }
  }
}
