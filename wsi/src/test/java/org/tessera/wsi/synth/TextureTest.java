package org.tessera.wsi.synth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TextureTest {

  @Test
  void lesionContrastBlendsFromNormalToTheFullRestaining() {
    Texture t = Texture.get();
    assertArrayEquals(t.normal, t.lesion(0.0), "contrast 0 is normal tissue");
    int[] full = t.lesion(1.0);
    int[] half = t.lesion(0.5);
    assertSame(half, t.lesion(0.5), "a blend is computed once");
    long differ = 0;
    for (int i = 0; i < full.length; i++) {
      for (int shift = 16; shift >= 0; shift -= 8) {
        int a = (t.normal[i] >> shift) & 0xff;
        int b = (full[i] >> shift) & 0xff;
        int m = (half[i] >> shift) & 0xff;
        assertTrue(Math.abs(m - (a + b) / 2.0) <= 1.0, "texel " + i + " is halfway");
        differ += a != b ? 1 : 0;
      }
    }
    assertTrue(differ > full.length, "the full restaining changes most texels");
    assertEquals(full.length, half.length);
  }
}
