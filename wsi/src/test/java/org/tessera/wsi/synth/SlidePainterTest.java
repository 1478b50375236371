package org.tessera.wsi.synth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tumour slide and its lesion-free twin (same seed, no lesions) differ only inside the lesion
 * mask: everything a slide-level model could read off a tumour slide besides its lesions (stain,
 * brightness, tissue shape, texture placement, glass noise) must come out the same, or the label
 * leaks through a cue that is not the lesions.
 */
class SlidePainterTest {

  private static final int W = 1280;
  private static final int H = 960;
  private static final int TILE = 256;
  private static final int DOWNSAMPLE = 8;
  /** Mask pixels the mask is grown by: covers mask cells under half lesion along its border. */
  private static final int MARGIN = 2;

  @TempDir
  Path dir;

  @Test
  void aTumourSlideDiffersFromItsLesionFreeTwinOnlyInsideTheMask() throws IOException {
    for (long seed : new long[] {1L, 7L, 20240601L, -99L}) {
      for (double contrast : new double[] {0.15, 1.0}) {
        Path tumourPpm = dir.resolve("t" + seed + ".ppm");
        Path twinPpm = dir.resolve("n" + seed + ".ppm");
        SlidePainter.Painted tumour = new SlidePainter(seed, true, W, H, TILE, contrast)
            .paint(tumourPpm, DOWNSAMPLE);
        SlidePainter.Painted twin = new SlidePainter(seed, false, W, H, TILE, contrast)
            .paint(twinPpm, DOWNSAMPLE);
        assertTrue(tumour.lesionPixels() > 0, "seed " + seed + " planted no lesion");
        assertEquals(0, twin.lesionPixels());
        assertEquals(twin.tissuePixels(), tumour.tissuePixels(), "seed " + seed
            + ": lesions change how much tissue there is");
        byte[] a = pixels(tumourPpm);
        byte[] b = pixels(twinPpm);
        boolean[] near = dilate(tumour.mask(), tumour.maskWidth(), tumour.maskHeight(), MARGIN);
        long outside = 0;
        long differentOutside = 0;
        long differentInside = 0;
        for (int y = 0; y < H; y++) {
          for (int x = 0; x < W; x++) {
            int o = 3 * (y * W + x);
            boolean same = a[o] == b[o] && a[o + 1] == b[o + 1] && a[o + 2] == b[o + 2];
            if (near[(y / DOWNSAMPLE) * tumour.maskWidth() + x / DOWNSAMPLE]) {
              differentInside += same ? 0 : 1;
            } else {
              outside++;
              differentOutside += same ? 0 : 1;
            }
          }
        }
        assertTrue(outside > W * H / 2, "the mask should leave most of the slide outside");
        assertEquals(0, differentOutside, "seed " + seed + ", contrast " + contrast + ": "
            + differentOutside + " of " + outside + " pixels outside the lesions differ from "
            + "the lesion-free twin");
        assertTrue(differentInside > tumour.lesionPixels() / 2, "seed " + seed
            + ": the lesions should look different from the tissue they replace");
      }
    }
  }

  private static boolean[] dilate(byte[] mask, int mw, int mh, int r) {
    boolean[] out = new boolean[mask.length];
    for (int y = 0; y < mh; y++) {
      for (int x = 0; x < mw; x++) {
        if (mask[y * mw + x] == 0) {
          continue;
        }
        for (int dy = -r; dy <= r; dy++) {
          for (int dx = -r; dx <= r; dx++) {
            int yy = y + dy;
            int xx = x + dx;
            if (yy >= 0 && yy < mh && xx >= 0 && xx < mw) {
              out[yy * mw + xx] = true;
            }
          }
        }
      }
    }
    return out;
  }

  /** The RGB bytes of a binary PPM as {@link SlidePainter#paint} writes it (three header lines). */
  private static byte[] pixels(Path ppm) throws IOException {
    byte[] all;
    try (InputStream in = Files.newInputStream(ppm)) {
      all = in.readAllBytes();
    }
    int lines = 0;
    int start = 0;
    while (lines < 3) {
      if (all[start++] == '\n') {
        lines++;
      }
    }
    assertEquals(3L * W * H, all.length - start);
    byte[] out = new byte[all.length - start];
    System.arraycopy(all, start, out, 0, out.length);
    return out;
  }
}
