package org.tessera.core.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SlideIdsTest {

  @Test
  void keepsSafeStemsAndDropsExtension() {
    assertEquals("TCGA-A1-0001.01", SlideIds.fromFileName("/data/TCGA-A1-0001.01.svs"));
    assertEquals("slide_7", SlideIds.fromFileName("hdfs://nn:8020/cohort/slide_7.tif"));
  }

  @Test
  void replacesPathAndSpecialCharacters() {
    assertEquals("my_slide__1_", SlideIds.fromFileName("my slide (1).ndpi"));
    assertEquals("a_b", SlideIds.fromFileName("..a+b.tif"));
    assertEquals("svs", SlideIds.fromFileName(".svs"));
    assertEquals("slide", SlideIds.fromFileName("..."));
    for (String raw : List.of("x/../../etc", "a\\b.tif", "ü.tif", "$(rm -rf).svs", "a+b#c?.tif")) {
      assertTrue(SlideIds.isValid(SlideIds.fromFileName(raw)), raw);
    }
    assertFalse(SlideIds.isValid("../x"));
    assertFalse(SlideIds.isValid("a+b"));
  }

  @Test
  void makesClashingNamesUniqueIndependentOfOrder() {
    List<String> paths = List.of("/b/s 1.svs", "/a/s_1.tif", "/c/s+1.svs");
    Map<String, String> ids = SlideIds.assign(paths);
    assertEquals("s_1-2", ids.get("/b/s 1.svs"));
    assertEquals("s_1", ids.get("/a/s_1.tif"));
    assertEquals("s_1-3", ids.get("/c/s+1.svs"));
    assertEquals(ids, SlideIds.assign(List.of("/c/s+1.svs", "/a/s_1.tif", "/b/s 1.svs")));
    assertEquals(List.copyOf(paths), List.copyOf(ids.keySet()));
  }

  @Test
  void idsRecordedByAnEarlierRunStayWithTheirPaths() {
    Map<String, String> first = SlideIds.assign(List.of("/d/a b.svs", "/d/a_b.svs", "/d/a_b.tif"));
    assertEquals(Map.of("/d/a b.svs", "a_b", "/d/a_b.svs", "a_b-2", "/d/a_b.tif", "a_b-3"), first);
    // A file that sorts among them is added: the others keep their ids, it gets a free one.
    List<String> now = List.of("/d/a b.svs", "/d/a+b.tif", "/d/a_b.svs", "/d/a_b.tif");
    Map<String, String> second = SlideIds.assign(now, first, Set.of());
    assertEquals("a_b-4", second.get("/d/a+b.tif"));
    for (var e : first.entrySet()) {
      assertEquals(e.getValue(), second.get(e.getKey()));
    }
    // Without the record the ids would have moved between files.
    assertEquals("a_b-2", SlideIds.assign(now).get("/d/a+b.tif"));
    // An id recorded for a file no longer listed is not given to another file.
    assertEquals("a_b-4", SlideIds.assign(List.of("/d/a+b.tif", "/d/a b.svs"),
        Map.of("/d/a b.svs", "a_b", "/d/gone/a_b.svs", "a_b-2", "/e/a_b.tif", "a_b-3"),
        Set.of()).get("/d/a+b.tif"));
    // An id reserved for another slide (an explicit one) wins over a recorded one.
    Map<String, String> reserved = SlideIds.assign(List.of("/d/a_b.svs"),
        Map.of("/d/a_b.svs", "a_b-2"), Set.of("a_b-2"));
    assertEquals("a_b", reserved.get("/d/a_b.svs"));
  }

  @Test
  void rejectsDuplicatePaths() {
    assertThrows(IllegalArgumentException.class, () -> SlideIds.assign(List.of("/a.svs", "/a.svs")));
  }
}
