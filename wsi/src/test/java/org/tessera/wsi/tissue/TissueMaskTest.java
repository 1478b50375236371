package org.tessera.wsi.tissue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.file.Path;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TissueMaskTest {

  @Test
  void fractionEqualsBruteForceAreaWeightedCoverage() {
    Random rnd = new Random(17);
    for (double ds : new double[] {1.0, 7.3, 32.0}) {
      int w = 53;
      int h = 41;
      boolean[] m = new boolean[w * h];
      for (int i = 0; i < m.length; i++) {
        m[i] = rnd.nextDouble() < 0.4;
      }
      TissueMask mask = new TissueMask(w, h, ds, m);
      long spanX = (long) Math.ceil(w * ds);
      long spanY = (long) Math.ceil(h * ds);
      for (int trial = 0; trial < 3000; trial++) {
        long x0 = (long) ((rnd.nextDouble() * 1.4 - 0.2) * spanX);
        long y0 = (long) ((rnd.nextDouble() * 1.4 - 0.2) * spanY);
        long rw = 1 + (long) (rnd.nextDouble() * (trial % 3 == 0 ? spanX : 3 * ds));
        long rh = 1 + (long) (rnd.nextDouble() * (trial % 3 == 0 ? spanY : 3 * ds));
        double expected = brute(m, w, h, ds, x0, y0, rw, rh);
        assertEquals(expected, mask.fraction(x0, y0, rw, rh), 1e-9,
            "ds=" + ds + " rect " + x0 + "," + y0 + " " + rw + "x" + rh);
      }
    }
  }

  @Test
  void fractionEdgeCases() {
    boolean[] m = {true, false, false, true};
    TissueMask mask = new TissueMask(2, 2, 10, m);
    assertEquals(0.5, mask.fraction(0, 0, 20, 20), 1e-12);
    assertEquals(1.0, mask.fraction(0, 0, 10, 10), 1e-12);
    assertEquals(1.0, mask.fraction(2, 3, 5, 5), 1e-12, "inside one tissue pixel");
    assertEquals(0.5, mask.fraction(5, 0, 10, 10), 1e-12, "half on a tissue pixel");
    assertEquals(1.0, mask.fraction(-100, -100, 110, 110), 1e-12, "clipped to the tissue corner");
    assertEquals(0.0, mask.fraction(20, 0, 50, 50), "entirely outside");
    assertEquals(0.0, mask.fraction(-50, -50, 50, 50), "touching the corner from outside");
    assertThrows(IllegalArgumentException.class, () -> mask.fraction(0, 0, 0, 5));
    assertEquals(2, mask.tissuePixelCount());
    assertEquals(0.5, mask.tissueFraction());
  }

  @Test
  void copiesItsInputAndWritesAPng(@TempDir Path tmp) throws Exception {
    boolean[] m = {true, false, false, true, true, false};
    TissueMask mask = new TissueMask(3, 2, 4, m);
    m[1] = true;
    assertEquals(3, mask.tissuePixelCount());
    Path png = tmp.resolve("m.png");
    mask.writePng(png);
    BufferedImage img = ImageIO.read(png.toFile());
    assertEquals(3, img.getWidth());
    assertEquals(255, img.getRaster().getSample(0, 0, 0));
    assertEquals(0, img.getRaster().getSample(1, 0, 0));
    assertEquals(255, img.getRaster().getSample(1, 1, 0));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new TissueMask(3, 3, 1, m))
        .getMessage().contains("3x3"));
  }

  @Test
  void survivesJavaSerializationAsSparkShipsIt() throws Exception {
    boolean[] m = {true, false, true, true};
    TissueMask mask = new TissueMask(2, 2, 3.5, m);
    double before = mask.fraction(1, 1, 5, 5);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(mask);
      out.writeObject(TissueParams.preset("biopsy"));
    }
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      TissueMask back = (TissueMask) in.readObject();
      assertEquals(before, back.fraction(1, 1, 5, 5));
      assertEquals(3, back.tissuePixelCount());
      assertEquals(TissueParams.preset("biopsy"), in.readObject());
    }
  }

  /** Sum over every mask pixel of its overlap with the clipped rectangle, all in mask units. */
  private static double brute(boolean[] m, int w, int h, double ds, long x0, long y0, long rw, long rh) {
    double ax = Math.max(0, Math.min(w, x0 / ds));
    double bx = Math.max(0, Math.min(w, (x0 + rw) / ds));
    double ay = Math.max(0, Math.min(h, y0 / ds));
    double by = Math.max(0, Math.min(h, (y0 + rh) / ds));
    if (bx <= ax || by <= ay) {
      return 0;
    }
    double sum = 0;
    for (int y = 0; y < h; y++) {
      double oy = Math.min(by, y + 1) - Math.max(ay, y);
      if (oy <= 0) {
        continue;
      }
      for (int x = 0; x < w; x++) {
        double ox = Math.min(bx, x + 1) - Math.max(ax, x);
        if (ox > 0 && m[y * w + x]) {
          sum += ox * oy;
        }
      }
    }
    return sum / ((bx - ax) * (by - ay));
  }
}
