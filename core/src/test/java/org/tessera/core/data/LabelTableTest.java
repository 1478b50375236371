package org.tessera.core.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LabelTableTest {

  private static LabelTable parse(String text) {
    return LabelTable.parse("labels.csv", text, List.of());
  }

  /** The message of parsing {@code text}, which must fail, checked to be one line. */
  private static String error(String text) {
    return error(text, List.of());
  }

  private static String error(String text, List<String> classes) {
    String msg = assertThrows(IllegalArgumentException.class,
        () -> LabelTable.parse("labels.csv", text, classes)).getMessage();
    assertFalse(msg.contains("\n"), msg);
    assertTrue(msg.startsWith("labels.csv"), msg);
    assertTrue(msg.contains(": "), msg);
    return msg;
  }

  @Test
  void readsColumnsByNameAndIgnoresOthers(@TempDir Path dir) throws Exception {
    Path csv = dir.resolve("labels.csv");
    Files.writeString(csv, "\uFEFFAge,Split,label,slide_id,Patient_ID\n"
        + "61,train,tumor,s1,p1\n"
        + "58,TEST,normal,s2,\n"
        + "\n"
        + "70,train,tumor,s3,p1\n");
    LabelTable t = LabelTable.read(csv);
    assertEquals(List.of("normal", "tumor"), t.classes());
    assertEquals(3, t.entries().size());
    assertEquals(new LabelTable.Entry("s1", "tumor", "p1", "train", 2), t.entry("s1"));
    assertEquals(new LabelTable.Entry("s2", "normal", "s2", "test", 3), t.entry("s2"));
    assertEquals(5, t.entry("s3").line());
    assertEquals(1, t.classIndex("tumor"));
    assertEquals(0, t.classIndex("normal"));
    assertTrue(t.hasSplitColumn());
    assertTrue(t.contains("s3"));
    assertFalse(t.contains("s4"));
  }

  @Test
  void patientAndSplitAreOptional() {
    LabelTable t = parse("slide_id,label\na,x\nb,y\n");
    assertEquals("a", t.entry("a").patientId());
    assertNull(t.entry("a").split());
    assertFalse(t.hasSplitColumn());
  }

  @Test
  void integerLabelsSortNumerically() {
    assertEquals(List.of("2", "9", "10"), parse("slide_id,label\na,10\nb,9\nc,2\nd,9\n").classes());
    assertEquals(List.of("10", "9", "x"), parse("slide_id,label\na,10\nb,9\nc,x\n").classes());
  }

  @Test
  void explicitClassListFixesTheOrder() {
    LabelTable t = LabelTable.parse("labels.csv", "slide_id,label\na,tumor\nb,normal\n",
        List.of("tumor", "normal", "other"));
    assertEquals(List.of("tumor", "normal", "other"), t.classes());
    assertEquals(0, t.classIndex("tumor"));
    String msg = error("slide_id,label\na,tumor\nb,benign\n", List.of("tumor", "normal"));
    assertTrue(msg.contains("line 3") && msg.contains("'benign'") && msg.contains("class list"),
        msg);
    assertTrue(error("slide_id,label\na,x\n", List.of("x", "x")).contains("give each class once"));
  }

  @Test
  void unknownClassIsAnError() {
    String msg = assertThrows(IllegalArgumentException.class,
        () -> parse("slide_id,label\na,x\nb,y\n").classIndex("z")).getMessage();
    assertTrue(msg.contains("'z'") && msg.contains("[x, y]"), msg);
    assertThrows(IllegalArgumentException.class, () -> parse("slide_id,label\na,x\n").entry("b"));
  }

  @Test
  void patientWithTwoLabelsIsAllowed() {
    LabelTable t = parse("slide_id,label,patient_id\na,x,p\nb,y,p\n");
    assertEquals("p", t.entry("b").patientId());
  }

  @Test
  void headerProblems() {
    assertTrue(error("").contains("is empty: it needs a header line"));
    assertTrue(error("  \n").contains("is empty"));
    String msg = error("slide,label\na,x\n");
    assertTrue(msg.startsWith("labels.csv line 1: the header has no slide_id column (found:"
        + " slide,label)"), msg);
    assertTrue(error("slide_id,class\na,x\n").contains("no label column"));
    assertTrue(error("slide_id,label\n").contains("has a header but no rows"));
    assertTrue(error("slide_id,label,label\na,x,y\n").startsWith("labels.csv line 1: bad header"));
  }

  @Test
  void rowProblemsNameTheLine() {
    assertEquals("labels.csv line 3: slide_id is empty: give every row the id of its slide",
        error("slide_id,label\na,x\n,y\n"));
    String bad = error("slide_id,label\na,x\nb c,y\n");
    assertTrue(bad.startsWith("labels.csv line 3: slide_id 'b c' is not a slide id"), bad);
    assertEquals("labels.csv line 4: slide_id 'a' is already on line 2: list every slide once",
        error("slide_id,label\na,x\nb,y\na,y\n"));
    assertTrue(error("slide_id,label\na,x\nb,\n")
        .startsWith("labels.csv line 3: label of b is empty"));
    assertTrue(error("slide_id,label,split\na,x,train\nb,y,holdout\n")
        .startsWith("labels.csv line 3: split 'holdout' of b is not train, val or test"));
    assertTrue(error("slide_id,label\na,x\nb,y,extra\n")
        .startsWith("labels.csv line 3: has 3 fields but the header has 2"));
    assertTrue(error("slide_id,label\na,\"x\nb,y\n").contains("not a readable CSV"));
  }

  @Test
  void patientInTwoSplitsIsAnError() {
    String msg = error("slide_id,label,patient_id,split\n"
        + "a,x,p1,train\nb,y,p2,train\nc,x,p1,test\n");
    assertTrue(msg.startsWith("labels.csv line 4: patient p1 is in split test here but in train"
        + " on line 2: put all slides of a patient in one split"), msg);
  }
}
