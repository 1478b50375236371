package org.tessera.wsi.synth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SynthCohortTest {
  private static final int W = 1500;
  private static final int H = 1100;
  private static final int DS = 16;
  private static final CohortParams PARAMS =
      CohortParams.defaults().withSlides(4).withSize(W, H).withSeed(7).withThreads(2);

  @TempDir
  static Path tmp;
  static Path cohort;
  static List<SynthSlide> slides;

  @BeforeAll
  static void generate() throws IOException {
    cohort = tmp.resolve("a");
    slides = new SynthCohort(PARAMS).generate(cohort);
  }

  @Test
  void labelsSlidesAndMasksAreWritten() throws IOException {
    List<String> lines = Files.readAllLines(cohort.resolve(SynthCohort.LABELS_CSV));
    assertEquals("slide_id,label,patient_id", lines.get(0));
    assertEquals(5, lines.size());
    Set<String> labels = new HashSet<>();
    Map<String, Integer> perPatient = new HashMap<>();
    Set<String> extensions = new HashSet<>();
    for (String line : lines.subList(1, lines.size())) {
      String[] f = line.split(",", -1);
      assertEquals(3, f.length, line);
      assertTrue(f[1].equals("normal") || f[1].equals("tumor"), line);
      assertFalse(f[2].isEmpty(), line);
      labels.add(f[1]);
      perPatient.merge(f[2], 1, Integer::sum);

      SynthSlide s = slides.stream().filter(x -> x.slideId().equals(f[0])).findFirst().orElseThrow();
      assertEquals(f[1], s.label());
      assertTrue(Files.size(s.path()) > 10_000, s.path().toString());
      String name = s.path().getFileName().toString();
      extensions.add(name.substring(name.lastIndexOf('.')));
      assertEquals(s.aperio() ? ".svs" : ".tif", name.substring(name.lastIndexOf('.')));

      BufferedImage mask = ImageIO.read(cohort.resolve("masks").resolve(f[0] + ".png").toFile());
      assertEquals((W + DS - 1) / DS, mask.getWidth());
      assertEquals((H + DS - 1) / DS, mask.getHeight());
      double lesionShare = maskShare(mask);
      if (s.tumor()) {
        assertTrue(lesionShare > 0.01, f[0] + " tumor slide has lesion share " + lesionShare);
        assertTrue(s.lesionFraction() > 0.04 && s.lesionFraction() < 0.3,
            f[0] + " lesions cover " + s.lesionFraction() + " of the tissue");
      } else {
        assertEquals(0.0, lesionShare, f[0] + " normal slide has lesions");
        assertEquals(0, s.lesionPixels());
      }
      double tissueShare = (double) s.tissuePixels() / ((long) W * H);
      assertTrue(tissueShare > 0.1 && tissueShare < 0.7, f[0] + " tissue share " + tissueShare);
    }
    assertEquals(Set.of("normal", "tumor"), labels);
    assertTrue(perPatient.containsValue(2), "some patient should have two slides: " + perPatient);
    assertEquals(Set.of(".svs", ".tif"), extensions);
    String index = Files.readString(cohort.resolve("masks").resolve(SynthCohort.MASKS_JSON));
    assertTrue(index.contains("\"downsample\": 16"), index);
    assertTrue(index.contains("\"width\": 1500, \"height\": 1100"), index);
    try (var files = Files.list(cohort.resolve("slides"))) {
      assertEquals(4, files.count(), "temporary PPMs and logs must be gone");
    }
  }

  @Test
  void openSlideReadsEverySlideAsAPyramidOfTheRightFlavour() {
    for (SynthSlide s : slides) {
      PyOpenSlide.Info info = PyOpenSlide.info(s.path());
      assertTrue(info.levels().size() >= 3, s.slideId() + " has " + info.levels().size() + " levels");
      assertArrayEquals(new long[] {W, H}, info.levels().get(0));
      assertEquals(2.0, info.downsamples().get(1), 0.01);
      if (s.aperio()) {
        assertEquals("aperio", info.vendor());
        assertEquals(0.5, info.mppX().orElseThrow(), 1e-9);
        assertEquals(0.5, info.mppY().orElseThrow(), 1e-9);
      } else {
        assertEquals("generic-tiff", info.vendor());
        assertTrue(info.mppX().isEmpty());
      }
    }
  }

  @Test
  void sameSeedGivesIdenticalLabelsAndMasksAndAnotherSeedDoesNot() throws IOException {
    Path again = tmp.resolve("b");
    new SynthCohort(PARAMS.withThreads(1)).generate(again);
    assertArrayEquals(bytes(cohort.resolve("labels.csv")), bytes(again.resolve("labels.csv")));
    assertArrayEquals(bytes(cohort.resolve("masks/masks.json")), bytes(again.resolve("masks/masks.json")));
    for (SynthSlide s : slides) {
      String mask = "masks/" + s.slideId() + ".png";
      assertArrayEquals(bytes(cohort.resolve(mask)), bytes(again.resolve(mask)), mask);
      Path slide = cohort.relativize(s.path());
      assertArrayEquals(bytes(s.path()), bytes(again.resolve(slide)), slide + " (vips should be deterministic)");
    }

    Path other = tmp.resolve("c");
    new SynthCohort(PARAMS.withSeed(8)).generate(other);
    assertNotEquals(Files.readString(cohort.resolve("masks/masks.json")),
        Files.readString(other.resolve("masks/masks.json")));
  }

  /**
   * The mask is honest: read back through OpenSlide from the JPEG pyramid, lesion tissue differs
   * clearly in mean colour from tissue outside lesions, and every small block (64 level-0 px) is
   * told apart by one colour rule (bluer than red: dark purple-blue) on the right side of the mask.
   */
  @Test
  void lesionMaskMarksVisiblyDifferentTissue() throws IOException {
    int checked = 0;
    int allLesionBlocks = 0;
    for (SynthSlide s : slides) {
      BufferedImage level1 = PyOpenSlide.readLevel(s.path(), 1);
      BufferedImage mask = ImageIO.read(cohort.resolve("masks").resolve(s.slideId() + ".png").toFile());
      int scale = DS / 2;
      double[] lesionSum = new double[3];
      double[] normalSum = new double[3];
      long lesionN = 0;
      long normalN = 0;
      for (int y = 0; y < level1.getHeight(); y++) {
        for (int x = 0; x < level1.getWidth(); x++) {
          int around = neighbourhood(mask, x / scale, y / scale);
          int p = level1.getRGB(x, y);
          if (around == 9) {
            add(lesionSum, p);
            lesionN++;
          } else if (around == 0 && saturation(p) > 12) {
            add(normalSum, p);
            normalN++;
          }
        }
      }
      assertTrue(normalN > 10_000, s.slideId() + ": " + normalN + " normal tissue pixels");

      int block = 32;
      int lesionBlocks = 0;
      int lesionPositive = 0;
      int normalBlocks = 0;
      int normalPositive = 0;
      for (int by = 0; by + block <= level1.getHeight(); by += block) {
        for (int bx = 0; bx + block <= level1.getWidth(); bx += block) {
          int cells = 0;
          int lesionCells = 0;
          for (int my = by / scale; my < (by + block) / scale; my++) {
            for (int mx = bx / scale; mx < (bx + block) / scale; mx++) {
              cells++;
              lesionCells += mask.getRaster().getSample(mx, my, 0) == 255 ? 1 : 0;
            }
          }
          double[] mean = new double[3];
          int saturated = 0;
          for (int y = by; y < by + block; y++) {
            for (int x = bx; x < bx + block; x++) {
              int p = level1.getRGB(x, y);
              add(mean, p);
              saturated += saturation(p) > 12 ? 1 : 0;
            }
          }
          boolean bluish = mean[2] > mean[0] + 15 * block * block;
          if (lesionCells == cells) {
            lesionBlocks++;
            lesionPositive += bluish ? 1 : 0;
          } else if (lesionCells == 0 && saturated > 0.9 * block * block) {
            normalBlocks++;
            normalPositive += bluish ? 1 : 0;
          }
        }
      }
      assertTrue(normalBlocks > 20, s.slideId() + ": " + normalBlocks + " normal tissue blocks");
      assertTrue(normalPositive <= 0.02 * normalBlocks,
          s.slideId() + ": " + normalPositive + " of " + normalBlocks + " normal blocks look like lesion");
      if (!s.tumor()) {
        assertEquals(0, lesionN);
        continue;
      }
      assertTrue(lesionN > 1000, s.slideId() + ": " + lesionN + " lesion pixels");
      assertTrue(lesionBlocks >= 1, s.slideId() + ": no block lies wholly inside a lesion");
      allLesionBlocks += lesionBlocks;
      assertTrue(lesionPositive >= 0.95 * lesionBlocks,
          s.slideId() + ": only " + lesionPositive + " of " + lesionBlocks + " lesion blocks look like lesion");
      double dist = 0;
      for (int c = 0; c < 3; c++) {
        double d = lesionSum[c] / lesionN - normalSum[c] / normalN;
        dist += d * d;
      }
      dist = Math.sqrt(dist);
      assertTrue(dist > 60, s.slideId() + ": lesion and normal mean colours only " + dist + " apart");
      checked++;
    }
    assertTrue(checked >= 1);
    assertTrue(allLesionBlocks >= 10, allLesionBlocks + " lesion blocks in all");
  }

  @Test
  void invalidParametersAreRejectedWithTheKeyNamed() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> CohortParams.defaults().withSize(100_000, 100_000));
    assertTrue(e.getMessage().contains("width*height"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> CohortParams.defaults().withSlides(0));
    assertEquals("cohort parameter slides=0: must be >= 1", e.getMessage());
  }

  private static int neighbourhood(BufferedImage mask, int mx, int my) {
    int n = 0;
    for (int dy = -1; dy <= 1; dy++) {
      for (int dx = -1; dx <= 1; dx++) {
        int x = Math.max(0, Math.min(mask.getWidth() - 1, mx + dx));
        int y = Math.max(0, Math.min(mask.getHeight() - 1, my + dy));
        n += (mask.getRaster().getSample(x, y, 0) == 255) ? 1 : 0;
      }
    }
    return n;
  }

  private static double saturation(int p) {
    int r = (p >> 16) & 0xff;
    int g = (p >> 8) & 0xff;
    int b = p & 0xff;
    int max = Math.max(r, Math.max(g, b));
    int min = Math.min(r, Math.min(g, b));
    return max == 0 ? 0 : 255.0 * (max - min) / max;
  }

  private static void add(double[] sum, int p) {
    sum[0] += (p >> 16) & 0xff;
    sum[1] += (p >> 8) & 0xff;
    sum[2] += p & 0xff;
  }

  private static double maskShare(BufferedImage mask) {
    long on = 0;
    for (int y = 0; y < mask.getHeight(); y++) {
      for (int x = 0; x < mask.getWidth(); x++) {
        int v = mask.getRaster().getSample(x, y, 0);
        assertTrue(v == 0 || v == 255, "mask values are 0 or 255, got " + v);
        on += v == 255 ? 1 : 0;
      }
    }
    return (double) on / ((long) mask.getWidth() * mask.getHeight());
  }

  private static byte[] bytes(Path p) throws IOException {
    return Files.readAllBytes(p);
  }
}
