package org.tessera.wsi.tissue;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.awt.image.BufferedImage;
import java.util.List;
import org.junit.jupiter.api.Test;

class QcImageTest {

  @Test
  void tintsTissueOutlinesItAndDrawsTileBoxes() {
    int w = 40;
    int h = 30;
    BufferedImage thumb = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        thumb.setRGB(x, y, 0xf0f0f0);
      }
    }
    // Mask at half the thumbnail's resolution: tissue is mask pixels 5..14 x 5..9.
    boolean[] m = new boolean[20 * 15];
    for (int y = 5; y < 10; y++) {
      for (int x = 5; x < 15; x++) {
        m[y * 20 + x] = true;
      }
    }
    TissueMask mask = new TissueMask(20, 15, 8, m);
    // Thumbnail downsample 4: tissue covers thumbnail pixels 10..29 x 10..19.
    List<Level0Rect> tiles = List.of(new Level0Rect(40, 40, 40, 40));
    BufferedImage qc = QcImage.render(thumb, mask, tiles, 4);

    assertEquals(w, qc.getWidth());
    assertEquals(h, qc.getHeight());
    assertEquals(0xf0f0f0, qc.getRGB(2, 2) & 0xffffff, "glass untouched");
    assertEquals(QcImage.OUTLINE, qc.getRGB(25, 19) & 0xffffff, "tissue border outlined");
    int inside = qc.getRGB(25, 15) & 0xffffff;
    assertEquals(0xa8, (inside >> 16) & 0xff, "tissue tinted towards green");
    assertEquals(0xe2, (inside >> 8) & 0xff);
    assertEquals(QcImage.TILE_BOX, qc.getRGB(10, 15) & 0xffffff, "tile box left edge at x=40/4");
    assertEquals(QcImage.TILE_BOX, qc.getRGB(15, 20) & 0xffffff, "tile box bottom edge at y=80/4");
  }

  @Test
  void shrinksLargeThumbnailsToTheMaximumEdge() {
    BufferedImage thumb = new BufferedImage(400, 300, BufferedImage.TYPE_INT_RGB);
    boolean[] m = new boolean[100 * 75];
    for (int y = 25; y < 50; y++) {
      for (int x = 25; x < 75; x++) {
        m[y * 100 + x] = true;
      }
    }
    TissueMask mask = new TissueMask(100, 75, 16, m);
    BufferedImage qc = QcImage.render(thumb, mask, List.of(new Level0Rect(0, 0, 640, 640)), 4, 100);
    assertEquals(100, qc.getWidth());
    assertEquals(75, qc.getHeight());
    assertEquals(QcImage.OUTLINE, qc.getRGB(25, 30) & 0xffffff, "mask maps onto the shrunk image");
    assertEquals(QcImage.TILE_BOX, qc.getRGB(40, 20) & 0xffffff, "tile box right edge at 640/16");
    assertEquals(400, QcImage.render(thumb, mask, List.of(), 4, 1000).getWidth());
  }
}
