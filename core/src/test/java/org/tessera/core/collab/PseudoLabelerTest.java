package org.tessera.core.collab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PseudoLabelerTest {

  private static final PseudoLabeler.Schedule SCHEDULE =
      new PseudoLabeler.Schedule(0.1, 0.05, 0.3);
  private static final PatchClasses BINARY =
      PatchClasses.of(List.of("normal", "tumor"), "", "");

  private static List<PseudoLabeler.Tile> tiles(double[] attention, double[] probability) {
    List<PseudoLabeler.Tile> out = new ArrayList<>();
    for (int i = 0; i < attention.length; i++) {
      out.add(new PseudoLabeler.Tile(256L * i, 512L * (i % 3), attention[i],
          probability == null ? Double.NaN : probability[i]));
    }
    return out;
  }

  @Test
  void scheduleGrowsPerRoundAndKeepsTheEndsApart() {
    assertEquals(0.1, SCHEDULE.fraction(1), 1e-12);
    assertEquals(0.2, SCHEDULE.fraction(3), 1e-12);
    assertEquals(0.3, SCHEDULE.fraction(9), 1e-12);
    assertEquals(2, SCHEDULE.k(1, 20));
    assertEquals(4, SCHEDULE.k(3, 20));
    assertEquals(1, SCHEDULE.k(1, 3), "at least one tile");
    assertEquals(1, new PseudoLabeler.Schedule(0.5, 0, 0.5).k(1, 3), "never overlapping");
  }

  @Test
  void roundOneLabelsTheMostAndLeastAttendedTiles() {
    double[] a = new double[20];
    for (int i = 0; i < a.length; i++) {
      a[i] = (i * 7) % 20;
    }
    List<PseudoLabeler.Choice> c = PseudoLabeler.select(tiles(a, null), 1, BINARY, 1, SCHEDULE);
    assertEquals(4, c.size());
    assertEquals(19.0, c.get(0).score());
    assertEquals(18.0, c.get(1).score());
    assertEquals(1, c.get(0).patchClass(), "top tiles take the slide's class");
    assertTrue(c.get(0).top());
    assertEquals(1.0, c.get(2).score());
    assertEquals(0.0, c.get(3).score());
    assertEquals(0, c.get(3).patchClass(), "bottom tiles take the negative class");
    assertEquals(19, c.get(3).rank());
  }

  @Test
  void aNegativeSlideGivesNegativesAtBothEnds() {
    double[] a = {0.1, 0.5, 0.2, 0.9, 0.3, 0.05, 0.6, 0.7, 0.4, 0.8};
    for (PseudoLabeler.Choice c : PseudoLabeler.select(tiles(a, null), 0, BINARY, 1, SCHEDULE)) {
      assertEquals(0, c.patchClass());
    }
  }

  @Test
  void laterRoundsNeedTheClassifierToAgreeWithAttention() {
    double[] a = {1.0, 0.9, 0.0, 0.5, 0.45, 0.2, 0.3, 0.35, 0.1, 0.15};
    double[] p = {0.05, 0.9, 0.5, 0.8, 0.1, 0.5, 0.5, 0.5, 0.5, 0.5};
    List<PseudoLabeler.Choice> c = PseudoLabeler.select(tiles(a, p), 1, BINARY, 2, SCHEDULE);
    // k = round(0.15 * 10) = 2: tile 1 (0.9 * 0.9) and tile 3 (0.5 * 0.8) beat tile 0
    // (attention 1 but probability 0.05).
    assertEquals(4, c.size());
    assertEquals(256L, c.get(0).x());
    assertEquals(0.81, c.get(0).score(), 1e-12);
    assertEquals(256L * 3, c.get(1).x());
    assertEquals(0.0, c.get(3).score(), 1e-12, "zero attention scores zero");
    assertThrows(IllegalArgumentException.class,
        () -> PseudoLabeler.select(tiles(a, null), 1, BINARY, 2, SCHEDULE));
  }

  @Test
  void tiesAreBrokenByPositionNotInputOrder() {
    double[] a = new double[12];
    List<PseudoLabeler.Tile> t = tiles(a, null);
    List<PseudoLabeler.Choice> first = PseudoLabeler.select(t, 1, BINARY, 1, SCHEDULE);
    List<PseudoLabeler.Tile> shuffled = new ArrayList<>(t);
    Collections.shuffle(shuffled, new Random(3));
    assertEquals(first, PseudoLabeler.select(shuffled, 1, BINARY, 1, SCHEDULE));
  }

  @Test
  void patchClassesFollowTheSlideClasses() {
    assertEquals(1, PatchClasses.of(List.of("a", "b"), "a", "").negative());
    PatchClasses sub = PatchClasses.of(List.of("lusc", "luad", "normal"), "", "normal");
    assertEquals(3, sub.size());
    assertEquals(2, sub.negative());
    PatchClasses bg = PatchClasses.of(List.of("x", "y", "z"), "", "");
    assertEquals(List.of("x", "y", "z", "background"), bg.names());
    assertEquals(3, bg.negative());
    assertThrows(IllegalArgumentException.class,
        () -> PatchClasses.of(List.of("a", "b"), "c", ""));
    assertThrows(IllegalArgumentException.class,
        () -> PatchClasses.of(List.of("a", "b", "c"), "a", ""));
  }
}
