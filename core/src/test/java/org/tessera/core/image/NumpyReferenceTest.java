package org.tessera.core.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tessera.core.PythonReference;

/**
 * The documented arithmetic, re-implemented in NumPy ({@code numpy_reference.py}), must give the
 * same floats and pixels: that is what lets a Python training or inference pipeline reproduce
 * Tessera's inputs. Debian's {@code /usr/bin/python3} is run by full path (a pyenv or conda
 * {@code python3} may lack NumPy), and a missing interpreter fails the test instead of skipping
 * it, since a skip would silently drop the check; {@code bin/setup --test} installs it.
 */
class NumpyReferenceTest {
  private static final String SCRIPT = "numpy_reference.py";

  @TempDir Path dir;

  @Test
  void realTissueTileMatches() throws IOException {
    RgbImage ihc = RgbImage.read(
        Path.of("../wsi/src/main/resources/org/tessera/wsi/synth/ihc.png"));
    int size = 256;
    int[] crop = new int[size * size];
    for (int y = 0; y < size; y++) {
      System.arraycopy(ihc.pixels(), (100 + y) * ihc.width() + 150, crop, y * size, size);
    }
    assertMatches(crop, size);
  }

  @Test
  void syntheticTileMatches() throws IOException {
    assertMatches(SyntheticStains.tile(SyntheticStains.SHIFTED_H, SyntheticStains.SHIFTED_E,
        224, 0.3, 1.2, 1.5, 61), 224);
  }

  @Test
  void degenerateTileIsLeftAloneByBoth() throws IOException {
    int[] white = new int[64 * 64];
    Arrays.fill(white, 0xf4f4f4);
    List<String> stats = assertMatches(white, 64);
    assertEquals(List.of("reinhard none", "macenko none"), stats);
  }

  private List<String> assertMatches(int[] rgb, int size) throws IOException {
    List<String> stats = runReference(rgb, size);

    TilePreprocessor pre = new TilePreprocessor(TilePreprocessor.Config.imagenet(size));
    float[] chw = new float[pre.floatsPerTile()];
    pre.toChw(rgb, size, size, chw, 0);
    float[] expected = new float[chw.length];
    ByteBuffer.wrap(Files.readAllBytes(dir.resolve("chw.f32"))).order(ByteOrder.LITTLE_ENDIAN)
        .asFloatBuffer().get(expected);
    assertArrayEquals(expected, chw, 0f, "preprocessing floats");

    assertPixels(dir.resolve("reinhard.rgb"), ReinhardNormalizer.defaults().normalize(rgb, size,
        size), "reinhard");
    assertPixels(dir.resolve("macenko.rgb"), MacenkoNormalizer.defaults().normalize(rgb, size,
        size), "macenko");

    double[] reinhard = parse(stats.get(0), "reinhard");
    ReinhardNormalizer.tissueStats(rgb, size, size).ifPresentOrElse(s -> assertArrayEquals(
        reinhard, new double[] {s.meanL(), s.meanAlpha(), s.meanBeta(), s.stdL(), s.stdAlpha(),
            s.stdBeta()}, 1e-9, "reinhard statistics"),
        () -> assertEquals(null, reinhard, "reinhard statistics"));
    double[] macenko = parse(stats.get(1), "macenko");
    MacenkoNormalizer.estimate(rgb, size, size).ifPresentOrElse(s -> assertArrayEquals(macenko,
        new double[] {s.hematoxylin().red(), s.hematoxylin().green(), s.hematoxylin().blue(),
            s.eosin().red(), s.eosin().green(), s.eosin().blue(), s.maxHematoxylin(),
            s.maxEosin()}, 1e-9, "macenko stains"),
        () -> assertEquals(null, macenko, "macenko stains"));
    return stats;
  }

  /**
   * Equal pixels, except that summation order (NumPy sums pairwise) may move a value sitting on a
   * rounding boundary by one level.
   */
  private static void assertPixels(Path file, int[] actual, String what) throws IOException {
    byte[] expected = Files.readAllBytes(file);
    assertEquals(3 * actual.length, expected.length, what + " pixel count");
    int off = 0;
    for (int i = 0; i < actual.length; i++) {
      for (int k = 0; k < 3; k++) {
        int want = expected[3 * i + k] & 0xff;
        int got = (actual[i] >> (16 - 8 * k)) & 0xff;
        assertTrue(Math.abs(want - got) <= 1, what + " pixel " + i + " channel " + k + ": numpy "
            + want + ", java " + got);
        off += want != got ? 1 : 0;
      }
    }
    assertTrue(off <= expected.length / 1000, what + ": " + off + " values differ by one level");
  }

  private static double[] parse(String line, String name) {
    String[] parts = line.split(" ");
    assertEquals(name, parts[0], line);
    if (parts[1].equals("none")) {
      return null;
    }
    return Arrays.stream(parts, 1, parts.length).mapToDouble(Double::parseDouble).toArray();
  }

  private List<String> runReference(int[] rgb, int size) throws IOException {
    PythonReference.require("numpy", "apt-get install -y python3-numpy");
    Path script = dir.resolve(SCRIPT);
    try (InputStream in = NumpyReferenceTest.class.getResourceAsStream(SCRIPT)) {
      if (in == null) {
        fail(SCRIPT + " is not on the test classpath");
      }
      Files.copy(in, script);
    }
    byte[] bytes = new byte[3 * rgb.length];
    for (int i = 0; i < rgb.length; i++) {
      bytes[3 * i] = (byte) (rgb[i] >> 16);
      bytes[3 * i + 1] = (byte) (rgb[i] >> 8);
      bytes[3 * i + 2] = (byte) rgb[i];
    }
    Files.write(dir.resolve("tile.rgb"), bytes);
    PythonReference.run(script, 120, dir.toString(), String.valueOf(size),
        String.valueOf(size));
    return Files.readAllLines(dir.resolve("stats.txt"));
  }
}
