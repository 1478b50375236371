package org.tessera.core.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class SplitsTest {

  /** {@code perClass[c]} one-slide patients of class {@code c<c>}. */
  private static LabelTable oneSlidePatients(int... perClass) {
    StringBuilder csv = new StringBuilder("slide_id,label\n");
    for (int c = 0; c < perClass.length; c++) {
      for (int i = 0; i < perClass[c]; i++) {
        csv.append("s").append(c).append('-').append(i).append(",c").append(c).append('\n');
      }
    }
    return LabelTable.parse("labels.csv", csv.toString(), List.of());
  }

  /** Patients with 1-4 slides each, some with mixed labels. */
  private static LabelTable multiSlidePatients() {
    StringBuilder csv = new StringBuilder("slide_id,label,patient_id\n");
    for (int p = 0; p < 30; p++) {
      int slides = 1 + p % 4;
      for (int s = 0; s < slides; s++) {
        String label = (p % 3 == 0) ? "a" : (p % 3 == 1) ? "b" : (s == 2 ? "a" : "c");
        csv.append("p").append(p).append("-s").append(s).append(',').append(label)
            .append(",p").append(p).append('\n');
      }
    }
    return LabelTable.parse("labels.csv", csv.toString(), List.of());
  }

  private static Set<String> patients(LabelTable t, Set<String> slides) {
    Set<String> out = new TreeSet<>();
    slides.forEach(id -> out.add(t.entry(id).patientId()));
    return out;
  }

  private static Map<String, Integer> countByLabel(LabelTable t, Set<String> slides) {
    Map<String, Integer> counts = new HashMap<>();
    t.classes().forEach(c -> counts.put(c, 0));
    slides.forEach(id -> counts.merge(t.entry(id).label(), 1, Integer::sum));
    return counts;
  }

  private static void assertDisjointUnion(LabelTable t, Splits.Split s) {
    Set<String> all = new HashSet<>();
    for (Set<String> part : List.of(s.train(), s.val(), s.test())) {
      for (String id : part) {
        assertTrue(all.add(id), id + " in two parts of " + s.name());
      }
    }
    assertEquals(t.entries().size(), all.size());
    Set<String> trainPatients = patients(t, s.train());
    Set<String> valPatients = patients(t, s.val());
    Set<String> testPatients = patients(t, s.test());
    for (String p : valPatients) {
      assertFalse(trainPatients.contains(p) || testPatients.contains(p), p);
    }
    for (String p : testPatients) {
      assertFalse(trainPatients.contains(p), p);
    }
  }

  @Test
  void kFoldIsStratifiedWithinOnePerClass() {
    LabelTable t = oneSlidePatients(23, 11, 7);
    List<Splits.Split> folds = Splits.kFold(t, 5, 3);
    assertEquals(5, folds.size());
    Set<String> tested = new HashSet<>();
    for (int f = 0; f < folds.size(); f++) {
      Splits.Split s = folds.get(f);
      assertEquals("fold-" + f, s.name());
      assertDisjointUnion(t, s);
      for (String id : s.test()) {
        assertTrue(tested.add(id), id + " tested twice");
      }
    }
    assertEquals(t.entries().size(), tested.size());
    for (String c : t.classes()) {
      int min = folds.stream().mapToInt(s -> countByLabel(t, s.test()).get(c)).min().orElseThrow();
      int max = folds.stream().mapToInt(s -> countByLabel(t, s.test()).get(c)).max().orElseThrow();
      assertTrue(max - min <= 1, c + ": " + min + ".." + max);
    }
  }

  @Test
  void kFoldNeverSplitsAPatient() {
    LabelTable t = multiSlidePatients();
    List<Splits.Split> folds = Splits.kFold(t, 4, 0.25, 9);
    Set<String> testedPatients = new HashSet<>();
    for (Splits.Split s : folds) {
      assertDisjointUnion(t, s);
      for (String p : patients(t, s.test())) {
        assertTrue(testedPatients.add(p), p + " in two folds");
      }
      assertFalse(s.val().isEmpty());
    }
    assertEquals(30, testedPatients.size());
  }

  @Test
  void kFoldIsDeterministicForASeed() {
    LabelTable t = multiSlidePatients();
    assertEquals(Splits.kFold(t, 3, 1), Splits.kFold(t, 3, 1));
    assertNotEquals(Splits.kFold(t, 3, 1), Splits.kFold(t, 3, 2));
  }

  @Test
  void kFoldValidationIsAStratifiedFractionOfTraining() {
    LabelTable t = oneSlidePatients(20, 10);
    for (Splits.Split s : Splits.kFold(t, 5, 0.25, 4)) {
      Map<String, Integer> val = countByLabel(t, s.val());
      // 16 and 8 training patients: a quarter of each.
      assertEquals(4, val.get("c0"));
      assertEquals(2, val.get("c1"));
      assertEquals(24 - 6, s.train().size());
    }
  }

  @Test
  void kFoldRejectsTooManyFolds() {
    String msg = assertThrows(IllegalArgumentException.class,
        () -> Splits.kFold(oneSlidePatients(10, 3), 4, 1)).getMessage();
    assertEquals("4 folds need at least 4 patients of every class, but class c1 in labels.csv"
        + " has 3: use at most 3 folds or add patients of that class", msg);
    assertThrows(IllegalArgumentException.class, () -> Splits.kFold(oneSlidePatients(5, 5), 1, 1));
    assertThrows(IllegalArgumentException.class,
        () -> Splits.kFold(oneSlidePatients(5, 5), 2, 1.0, 1));
  }

  @Test
  void thePatientHoldOutIsFoldZeroOfAsManyFoldsAsTheSmallestClassAllows() {
    LabelTable t = oneSlidePatients(10, 3);
    Splits.Split f = Splits.kFold(t, 3, 0.2, 7).get(0);
    assertEquals(new Splits.Split("holdout", f.train(), f.val(), f.test()),
        Splits.patientHoldOut(t, 0.2, 7));
    LabelTable big = oneSlidePatients(10, 12);
    Splits.Split five = Splits.kFold(big, 5, 0.2, 7).get(0);
    assertEquals(five.test(), Splits.patientHoldOut(big, 0.2, 7).test());

    String msg = assertThrows(IllegalArgumentException.class,
        () -> Splits.patientHoldOut(oneSlidePatients(10, 1), 0.2, 7)).getMessage();
    assertTrue(msg.startsWith("the hold-out split (--folds 0 and no split column in labels.csv)")
        && msg.contains("class c1 has 1"), msg);
    assertFalse(msg.contains("folds need"), msg);
  }

  @Test
  void givenSplitsAreKept() {
    LabelTable t = LabelTable.parse("labels.csv", "slide_id,label,split\n"
        + "a,x,train\nb,y,train\nc,x,val\nd,y,test\n", List.of());
    Splits.Split s = Splits.given(t, Splits.DEFAULT_VAL_FRACTION, 1);
    assertEquals(new Splits.Split("given", Set.of("a", "b"), Set.of("c"), Set.of("d")), s);
  }

  @Test
  void givenSplitsWithoutValHoldOutAStratifiedFraction() {
    StringBuilder csv = new StringBuilder("slide_id,label,patient_id,split\n");
    for (int p = 0; p < 20; p++) {
      String label = p < 15 ? "x" : "y";
      for (int s = 0; s < 2; s++) {
        csv.append("p").append(p).append('s').append(s).append(',').append(label).append(",p")
            .append(p).append(',').append(p % 10 == 9 ? "test" : "train").append('\n');
      }
    }
    LabelTable t = LabelTable.parse("labels.csv", csv.toString(), List.of());
    Splits.Split s = Splits.given(t, 0.2, 5);
    assertDisjointUnion(t, s);
    // Training patients: 13 of x, 5 of y; 20% is 3 and 1 patients, two slides each.
    assertEquals(Map.of("x", 6, "y", 2), countByLabel(t, s.val()));
    assertEquals(4, s.test().size());
    assertEquals(s, Splits.given(t, 0.2, 5));
  }

  @Test
  void holdOutKeepsOnePatientPerClassWhenItCan() {
    LabelTable t = oneSlidePatients(2, 1, 9);
    Splits.Split s = Splits.holdOut("h", t,
        t.entries().stream().map(LabelTable.Entry::slideId).toList(), List.of(), 0.05, 3);
    // 5% rounds to none, but every class with two patients gives one; the lone c1 stays in train.
    assertEquals(Map.of("c0", 1, "c1", 0, "c2", 1), countByLabel(t, s.val()));
    assertEquals(10, s.train().size());
  }

  @Test
  void givenSplitErrors() {
    String none = assertThrows(IllegalArgumentException.class,
        () -> Splits.given(oneSlidePatients(2, 2), 0.2, 1)).getMessage();
    assertTrue(none.startsWith("labels.csv has no split column"), none);
    LabelTable partial = LabelTable.parse("labels.csv",
        "slide_id,label,split\na,x,train\nb,y,\n", List.of());
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Splits.given(partial, 0.2, 1))
        .getMessage().startsWith("labels.csv line 3: split of b is empty"));
    LabelTable noTrain = LabelTable.parse("labels.csv",
        "slide_id,label,split\na,x,test\nb,y,val\n", List.of());
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Splits.given(noTrain, 0.2, 1))
        .getMessage().startsWith("labels.csv has no rows with split train"));
    LabelTable oneClass = LabelTable.parse("labels.csv",
        "slide_id,label,split\na,x,train\nb,x,train\nc,y,val\n", List.of());
    assertEquals("given training split of labels.csv has only class x: need at least two classes",
        assertThrows(IllegalArgumentException.class, () -> Splits.given(oneClass, 0.2, 1))
            .getMessage());
  }

  @Test
  void kFoldRejectsASingleClassTrainingSet() {
    LabelTable t = LabelTable.parse("labels.csv", "slide_id,label\na,x\nb,x\nc,x\nd,x\n",
        List.of());
    String msg = assertThrows(IllegalArgumentException.class, () -> Splits.kFold(t, 2, 1))
        .getMessage();
    assertEquals("fold-0 training split of labels.csv has only class x: need at least two classes",
        msg);
  }
}
