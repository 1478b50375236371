package org.tessera.wsi.tissue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TissueParamsTest {

  @Test
  void presetsAreSelectableByName() {
    assertEquals(Set.of("biopsy", "default", "fixed"), TissueParams.presetNames());
    assertEquals(TissueParams.OTSU, TissueParams.preset("default").threshold());
    assertEquals(TissueParams.defaults(), TissueParams.preset(" Default "));
    assertEquals(8, TissueParams.preset("fixed").threshold());
    assertEquals(8, TissueParams.preset("fixed").lowThreshold());
    assertTrue(TissueParams.preset("biopsy").minTissueArea() < TissueParams.defaults().minTissueArea());
  }

  @Test
  void parseAppliesOverridesToAPreset() {
    TissueParams p = TissueParams.parse("biopsy, threshold=20, close=0, fill_holes=false");
    assertEquals(20, p.threshold());
    assertEquals(0, p.closeKernel());
    assertFalse(p.fillHoles());
    assertEquals(TissueParams.preset("biopsy").medianKernel(), p.medianKernel());
    assertEquals(TissueParams.defaults().with(Map.of("median", "9")), TissueParams.parse("median=9"));
    assertEquals(TissueParams.OTSU, TissueParams.parse("fixed,threshold=otsu").threshold());
  }

  @Test
  void specRoundTrips() {
    for (String name : TissueParams.presetNames()) {
      TissueParams p = TissueParams.preset(name);
      assertEquals(p, TissueParams.parse(p.toSpec()), name);
    }
    TissueParams odd = TissueParams.parse("min_tissue_area=1234.5,threshold=30,low_threshold=12");
    assertEquals(odd, TissueParams.parse(odd.toSpec()));
  }

  @Test
  void errorsAreOneLineAndNameTheKeyAndValue() {
    assertError("tissue param median=4: must be an odd integer 1..255", "median=4");
    assertError("tissue param threshold=abc: must be an integer", "threshold=abc");
    assertError("tissue param threshold=300: must be 'otsu' or an integer 0..254", "threshold=300");
    assertError("tissue param fill_holes=maybe: must be true or false", "fill_holes=maybe");
    assertError("tissue param min_tissue_area=-1.0: must be a finite number >= 0", "min_tissue_area=-1");
    assertError("tissue param low_threshold=8: must be <= threshold (5)", "fixed,threshold=5");
    assertTrue(message("colour=7").startsWith("unknown tissue param 'colour': expected one of threshold,"));
    assertEquals("unknown tissue preset 'liver': expected one of [biopsy, default, fixed]",
        message("liver"));
    assertTrue(message("default,biopsy").startsWith("tissue param 'biopsy': expected key=value"));
  }

  private static void assertError(String expected, String spec) {
    assertEquals(expected, message(spec));
  }

  private static String message(String spec) {
    String m = assertThrows(IllegalArgumentException.class, () -> TissueParams.parse(spec)).getMessage();
    assertFalse(m.contains("\n"), m);
    return m;
  }
}
