package org.tessera.spark.report;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.awt.geom.PathIterator;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class HeatmapOutlineTest {

  /** The path's segments as {x0, y0, x1, y1}. */
  private static List<double[]> segments(Heatmaps.Outline o) {
    List<double[]> out = new ArrayList<>();
    double[] c = new double[6];
    double[] from = new double[2];
    for (PathIterator it = o.border().getPathIterator(null); !it.isDone(); it.next()) {
      int type = it.currentSegment(c);
      if (type == PathIterator.SEG_LINETO) {
        out.add(new double[] {from[0], from[1], c[0], c[1]});
      }
      from[0] = c[0];
      from[1] = c[1];
    }
    return out;
  }

  @Test
  void outlinesTheLesionsInLevelZeroPixelsWithoutTheirInnerEdges() {
    BufferedImage mask = new BufferedImage(5, 4, BufferedImage.TYPE_BYTE_GRAY);
    // A 2 x 1 lesion at mask pixels (1, 1) and (2, 1), and a lone one at (4, 3) in the corner.
    mask.getRaster().setSample(1, 1, 0, 255);
    mask.getRaster().setSample(2, 1, 0, 255);
    mask.getRaster().setSample(4, 3, 0, 200);
    mask.getRaster().setSample(0, 3, 0, 100);
    Heatmaps.Outline o = Heatmaps.Outline.of(mask, 16);
    List<double[]> s = segments(o);
    assertEquals(6 + 4, s.size(), "the two lesions' perimeters in mask-pixel edges; the shared "
        + "edge of the pair and the faint pixel are not outlined");
    Rectangle2D box = o.border().getBounds2D();
    assertEquals(16, box.getMinX(), 1e-9);
    assertEquals(16, box.getMinY(), 1e-9);
    assertEquals(80, box.getMaxX(), 1e-9, "the corner lesion's far edge is the slide's");
    assertEquals(64, box.getMaxY(), 1e-9);
    for (double[] e : s) {
      boolean shared = e[0] == 32 && e[2] == 32 && e[1] == 16 && e[3] == 32;
      assertEquals(false, shared, "the edge between two lesion pixels is drawn");
    }
  }
}
