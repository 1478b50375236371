package org.tessera.core.image;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.tessera.core.image.MacenkoNormalizer.StainReference;
import org.tessera.core.image.ReinhardNormalizer.LabStats;

/**
 * Both normalisers on a real stained tissue photograph: scikit-image's IHC colon image
 * (hematoxylin counterstain and brown DAB), vendored by the wsi module. Read in place rather than
 * copied, so the repository keeps one copy of it and its licence notice.
 */
class RealTissueTest {
  /** Relative to the core module, where Maven runs the tests. */
  private static final Path IHC =
      Path.of("../wsi/src/main/resources/org/tessera/wsi/synth/ihc.png");

  @Test
  void reinhardMovesTissueStatisticsToTheTarget() throws IOException {
    RgbImage ihc = ihc();
    int w = ihc.width();
    int h = ihc.height();
    LabStats before = ReinhardNormalizer.tissueStats(ihc.pixels(), w, h).orElseThrow();
    int[] out = ReinhardNormalizer.defaults().normalize(ihc.pixels(), w, h);
    LabStats after = ReinhardNormalizer.tissueStats(out, w, h).orElseThrow();
    ReinhardNormalizerTest.assertCloser(ReinhardNormalizer.HISTOMICSTK_REFERENCE, before, after);
  }

  @Test
  void macenkoMovesTheStainsToTheReference() throws IOException {
    RgbImage ihc = ihc();
    int w = ihc.width();
    int h = ihc.height();
    StainReference ref = MacenkoNormalizer.DEFAULT_REFERENCE;
    StainReference before = MacenkoNormalizer.estimate(ihc.pixels(), w, h).orElseThrow();
    int[] out = MacenkoNormalizer.defaults().normalize(ihc.pixels(), w, h);
    StainReference after = MacenkoNormalizer.estimate(out, w, h).orElseThrow();
    // The second stain here is DAB, not eosin: the normaliser re-renders it as the reference
    // eosin, and re-estimating on the output finds the reference directions (8 and 25 degrees
    // off before, under 1 and 5 after: the re-estimate sees the most extreme mixtures the tile
    // holds, not pure stains).
    assertCloser(ref.hematoxylin(), before.hematoxylin(), after.hematoxylin(), 2);
    assertCloser(ref.eosin(), before.eosin(), after.eosin(), 6);
    assertTrue(Math.abs(after.maxHematoxylin() - ref.maxHematoxylin())
        < Math.abs(before.maxHematoxylin() - ref.maxHematoxylin()), after.toString());
    assertTrue(Math.abs(after.maxEosin() - ref.maxEosin())
        < Math.abs(before.maxEosin() - ref.maxEosin()), after.toString());
  }

  @Test
  void tilesOfTheImagePreprocessToFiniteFloats() throws IOException {
    RgbImage ihc = ihc();
    int tile = 256;
    for (StainNormalizer stain : new StainNormalizer[] {StainNormalizers.none(),
        ReinhardNormalizer.defaults(), MacenkoNormalizer.defaults()}) {
      TilePreprocessor pre =
          new TilePreprocessor(TilePreprocessor.Config.imagenet(224).withStainNormalizer(stain));
      float[] batch = new float[4 * pre.floatsPerTile()];
      for (int t = 0; t < 4; t++) {
        int x0 = (t % 2) * tile;
        int y0 = (t / 2) * tile;
        int[] crop = new int[tile * tile];
        for (int y = 0; y < tile; y++) {
          System.arraycopy(ihc.pixels(), (y0 + y) * ihc.width() + x0, crop, y * tile, tile);
        }
        pre.toChw(crop, tile, tile, batch, t);
      }
      for (float v : batch) {
        assertTrue(Float.isFinite(v) && v >= -2.2f && v <= 2.7f, () -> stain.describe() + ": " + v);
      }
    }
  }

  private static void assertCloser(MacenkoNormalizer.StainVector ref,
      MacenkoNormalizer.StainVector before, MacenkoNormalizer.StainVector after, double within) {
    double was = ref.angleDegrees(before);
    double now = ref.angleDegrees(after);
    assertTrue(now < was && now < within,
        "angle to the reference " + was + " before, " + now + " after, want < " + within);
  }

  private static RgbImage image;

  private static synchronized RgbImage ihc() throws IOException {
    if (image == null) {
      assertTrue(Files.isRegularFile(IHC), "test image missing: " + IHC.toAbsolutePath()
          + "; run the tests from the core module directory (mvn -pl core test)");
      image = RgbImage.read(IHC);
    }
    return image;
  }
}
