package org.tessera.wsi.tissue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tessera.wsi.synth.CohortParams;
import org.tessera.wsi.synth.PyOpenSlide;
import org.tessera.wsi.synth.SynthCohort;
import org.tessera.wsi.synth.SynthSlide;

class TissueDetectorTest {
  private static final int W = 400;
  private static final int H = 300;

  /** Ground truth of {@link #scene}: an ellipse of tissue with one large open hole. */
  private static boolean truth(int x, int y) {
    return inEllipse(x, y, 200, 150, 150, 110) && !inEllipse(x, y, 150, 150, 30, 26);
  }

  /**
   * Pink noisy tissue on noisy glass, with a small hole (to be filled), a large hole (to stay
   * open) and scattered 7x7 coloured specks (big enough to survive the median blur, too small to
   * be kept as tissue).
   */
  private static int[] scene(long seed) {
    Random rnd = new Random(seed);
    int[] px = new int[W * H];
    for (int y = 0; y < H; y++) {
      for (int x = 0; x < W; x++) {
        boolean tissue = truth(x, y) && !inEllipse(x, y, 260, 120, 9, 7);
        int n = rnd.nextInt(7) - 3;
        px[y * W + x] = tissue
            ? rgb(200 + rnd.nextInt(40) - 20, 120 + rnd.nextInt(40) - 20, 170 + rnd.nextInt(40) - 20)
            : rgb(242 + n, 242 + n, 240 + n);
      }
    }
    for (int k = 0; k < 25; k++) {
      int sx = 2 + rnd.nextInt(W - 10);
      int sy = 2 + rnd.nextInt(H - 10);
      if (inEllipse(sx, sy, 200, 150, 165, 125)) {
        continue;
      }
      for (int dy = 0; dy < 7; dy++) {
        for (int dx = 0; dx < 7; dx++) {
          px[(sy + dy) * W + sx + dx] = rgb(150, 60, 120);
        }
      }
    }
    return px;
  }

  private static final TissueParams SCENE_PARAMS =
      new TissueParams(TissueParams.OTSU, 8, 5, 3, true, 1500, 400);

  @Test
  void recoversBlobFillsSmallHoleKeepsLargeHoleDropsSpecks() {
    TissueMask mask = TissueDetector.detect(scene(1), W, H, 1.0, SCENE_PARAMS);
    assertTrue(iou(mask) > 0.95, "IoU " + iou(mask));
    assertTrue(mask.isTissue(260, 120), "small hole (~200 px < 1500) is filled");
    assertFalse(mask.isTissue(150, 150), "large hole (~2450 px >= 1500) stays open");
    for (int y = 0; y < H; y++) {
      for (int x = 0; x < W; x++) {
        if (!inEllipse(x, y, 200, 150, 160, 120)) {
          assertFalse(mask.isTissue(x, y), "speck or noise left at " + x + "," + y);
        }
      }
    }
    assertTrue(mask.saturationThreshold() > 10 && mask.saturationThreshold() < 60,
        "threshold " + mask.saturationThreshold());
  }

  @Test
  void areasAreLevel0SoTheyScaleWithDownsample() {
    TissueParams params = SCENE_PARAMS.with(Map.of(
        TissueParams.MIN_HOLE_AREA, "24000", TissueParams.MIN_TISSUE_AREA, "6400"));
    TissueMask at1 = TissueDetector.detect(scene(1), W, H, 1.0, SCENE_PARAMS);
    TissueMask at4 = TissueDetector.detect(scene(1), W, H, 4.0, params);
    assertArrayEquals(at1.toArray(), at4.toArray());
    assertEquals(4.0, at4.downsample());
  }

  @Test
  void withoutHoleFillingTheSmallHoleStays() {
    TissueParams noFill = SCENE_PARAMS.with(Map.of(TissueParams.FILL_HOLES, "false"));
    TissueMask mask = TissueDetector.detect(scene(1), W, H, 1.0, noFill);
    assertFalse(mask.isTissue(260, 120));
    TissueParams fillAll = SCENE_PARAMS.with(Map.of(TissueParams.MIN_HOLE_AREA, "0"));
    assertTrue(TissueDetector.detect(scene(1), W, H, 1.0, fillAll).isTissue(150, 150));
  }

  @Test
  void blankGlassHasNoTissue() {
    Random rnd = new Random(3);
    int[] px = new int[W * H];
    for (int i = 0; i < px.length; i++) {
      int n = rnd.nextInt(7) - 3;
      px[i] = rgb(241 + n + rnd.nextInt(3) - 1, 241 + n, 239 + n + rnd.nextInt(3) - 1);
    }
    TissueMask mask = TissueDetector.detect(px, W, H, 16, TissueParams.defaults());
    assertEquals(0, mask.tissuePixelCount());
    assertEquals(0.0, mask.fraction(0, 0, W * 16L, H * 16L));
  }

  @Test
  void bufferedImageAndPixelArrayAgree() {
    int[] px = scene(2);
    BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
    img.setRGB(0, 0, W, H, px, 0, W);
    assertArrayEquals(TissueDetector.detect(px, W, H, 2, SCENE_PARAMS).toArray(),
        TissueDetector.detect(img, 2, SCENE_PARAMS).toArray());
  }

  /** End to end on real generated slides, read back through OpenSlide at a low-resolution level. */
  @Test
  void findsTissueButNotGlassOnSyntheticSlides(@TempDir Path tmp) throws IOException {
    int sw = 2048;
    int sh = 1536;
    List<SynthSlide> slides = new SynthCohort(
        CohortParams.defaults().withSlides(2).withSize(sw, sh).withSeed(11)).generate(tmp);
    for (SynthSlide s : slides) {
      PyOpenSlide.Info info = PyOpenSlide.info(s.path());
      int level = 2;
      double ds = info.downsamples().get(level);
      BufferedImage thumb = PyOpenSlide.readLevel(s.path(), level);
      TissueMask mask = TissueDetector.detect(thumb, ds, TissueParams.defaults());

      double painted = (double) s.tissuePixels() / ((long) sw * sh);
      assertEquals(painted, mask.tissueFraction(), 0.05,
          s.slideId() + ": detected tissue share vs painted share");
      // The painter keeps a glass margin of 5% of the short side all around the slide.
      int margin = (int) (0.04 * Math.min(mask.width(), mask.height()));
      for (int y = 0; y < mask.height(); y++) {
        for (int x = 0; x < mask.width(); x++) {
          if (x < margin || y < margin || x >= mask.width() - margin || y >= mask.height() - margin) {
            assertFalse(mask.isTissue(x, y), s.slideId() + ": glass called tissue at " + x + "," + y);
          }
        }
      }
      assertEquals(0.0, mask.fraction(0, 0, 200, 200), s.slideId() + " corner");

      if (s.tumor()) {
        BufferedImage lesions = ImageIO.read(tmp.resolve("masks").resolve(s.slideId() + ".png").toFile());
        long on = 0;
        double inTissue = 0;
        for (int y = 0; y < lesions.getHeight(); y++) {
          for (int x = 0; x < lesions.getWidth(); x++) {
            if (lesions.getRaster().getSample(x, y, 0) == 255) {
              on++;
              inTissue += mask.fraction(x * 16L, y * 16L, 16, 16);
            }
          }
        }
        assertTrue(on > 0);
        assertTrue(inTissue / on > 0.95, s.slideId() + ": lesions in detected tissue " + inTissue / on);
      }

      List<Level0Rect> kept = new ArrayList<>();
      for (long y = 0; y + 256 <= sh; y += 256) {
        for (long x = 0; x + 256 <= sw; x += 256) {
          if (mask.fraction(x, y, 256, 256) >= 0.5) {
            kept.add(new Level0Rect(x, y, 256, 256));
          }
        }
      }
      assertFalse(kept.isEmpty());
      BufferedImage qc = QcImage.render(thumb, mask, kept, ds);
      Path png = tmp.resolve("qc").resolve(s.slideId() + ".png");
      QcImage.writePng(qc, png);
      BufferedImage back = ImageIO.read(png.toFile());
      assertEquals(thumb.getWidth(), back.getWidth());
      assertEquals(thumb.getHeight(), back.getHeight());
    }
  }

  private static double iou(TissueMask mask) {
    long inter = 0;
    long union = 0;
    for (int y = 0; y < H; y++) {
      for (int x = 0; x < W; x++) {
        boolean a = mask.isTissue(x, y);
        boolean b = truth(x, y);
        inter += a && b ? 1 : 0;
        union += a || b ? 1 : 0;
      }
    }
    return (double) inter / union;
  }

  static boolean inEllipse(int x, int y, double cx, double cy, double rx, double ry) {
    double u = (x + 0.5 - cx) / rx;
    double v = (y + 0.5 - cy) / ry;
    return u * u + v * v <= 1;
  }

  static int rgb(int r, int g, int b) {
    return (clamp(r) << 16) | (clamp(g) << 8) | clamp(b);
  }

  private static int clamp(int v) {
    return Math.max(0, Math.min(255, v));
  }
}
