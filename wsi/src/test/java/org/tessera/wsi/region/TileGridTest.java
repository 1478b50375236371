package org.tessera.wsi.region;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;
import org.tessera.wsi.LevelInfo;
import org.tessera.wsi.SlideMetadata;

class TileGridTest {

  private static SlideMetadata slide(double mpp, long w, long h, double... downsamples) {
    List<LevelInfo> levels = new java.util.ArrayList<>();
    for (int i = 0; i < downsamples.length; i++) {
      levels.add(new LevelInfo(i, (long) Math.ceil(w / downsamples[i]),
          (long) Math.ceil(h / downsamples[i]), downsamples[i]));
    }
    OptionalDouble m = mpp > 0 ? OptionalDouble.of(mpp) : OptionalDouble.empty();
    return new SlideMetadata("test", levels, m, m, OptionalDouble.empty(), Map.of(), List.of());
  }

  @Test
  void exactLevelIsReadWithoutResampling() {
    TileGrid g = TileGrid.plan(slide(0.25, 10000, 8000, 1, 2, 4, 8), 0.5, 256, 256);
    assertEquals(1, g.level());
    assertEquals(256, g.sizeAtLevel());
    assertEquals(5000 / 256, g.cols());
    assertEquals(4000 / 256, g.rows());
    assertEquals(512, g.x(1));
    assertEquals(TileRequest.of(1, 1024, 512, 256, 256), g.tile(2, 1));
    assertEquals(512.0, g.footprintLevel0());
  }

  @Test
  void betweenLevelsReadsFinerLevelAndShrinks() {
    // 0.25 um/px scan, levels 1x and 4x; 0.5 um/px wanted: read level 0 at 512 px and shrink.
    TileGrid g = TileGrid.plan(slide(0.25, 4096, 4096, 1, 4, 16), 0.5, 256, 256);
    assertEquals(0, g.level());
    assertEquals(512, g.sizeAtLevel());
    assertEquals(8, g.cols());
    // Awkward ratio (0.6 / 0.25 = 2.4 with levels 1 and 4): read 614 px at level 0.
    TileGrid h = TileGrid.plan(slide(0.25, 4096, 4096, 1, 4), 0.6, 256, 256);
    assertEquals(0, h.level());
    assertEquals(Math.round(256 * 2.4), h.sizeAtLevel());
    assertEquals((4096 - 614) / 614 + 1, h.cols());
  }

  @Test
  void nearlyExactLevelCountsAsExact() {
    // Scanners report downsamples such as 3.9998 for a nominal 4x level.
    TileGrid g = TileGrid.plan(slide(0.25, 8000, 8000, 1, 3.9998, 16.001), 1.0, 224, 224);
    assertEquals(1, g.level());
    assertEquals(224, g.sizeAtLevel());
  }

  @Test
  void coarserScanThanTargetUpsamplesFromLevelZero() {
    TileGrid g = TileGrid.plan(slide(1.0, 2048, 2048, 1, 2), 0.5, 256, 256);
    assertEquals(0, g.level());
    assertEquals(128, g.sizeAtLevel());
  }

  @Test
  void overlappingStrideAndOnlyWholeTiles() {
    TileGrid g = TileGrid.plan(slide(0.5, 1000, 600, 1), 0.5, 256, 128);
    assertEquals((1000 - 256) / 128 + 1, g.cols());
    assertEquals((600 - 256) / 128 + 1, g.rows());
    long lastRight = g.x(g.cols() - 1) + 256;
    assertTrue(lastRight <= 1000);
    assertEquals(0, TileGrid.plan(slide(0.5, 200, 200, 1), 0.5, 256, 256).tileCount());
  }

  @Test
  void missingMppIsAClearError() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TileGrid.plan(slide(0, 1000, 1000, 1), 0.5, 256, 256));
    assertTrue(e.getMessage().contains("--assume-mpp"), e.getMessage());
    assertEquals(0.25, TileGrid.plan(slide(0, 1000, 1000, 1).withMpp(0.25), 0.5, 256, 256)
        .slideMpp());
  }

  @Test
  void rejectsBadArguments() {
    SlideMetadata m = slide(0.5, 1000, 1000, 1);
    assertThrows(IllegalArgumentException.class, () -> TileGrid.plan(m, 0, 256, 256));
    assertThrows(IllegalArgumentException.class, () -> TileGrid.plan(m, 0.5, 0, 256));
    assertThrows(IllegalArgumentException.class, () -> TileGrid.plan(m, 0.5, 256, -1));
    assertThrows(IndexOutOfBoundsException.class, () -> TileGrid.plan(m, 0.5, 256, 256).tile(9, 0));
  }
}
