package org.tessera.spark.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.Map;
import org.apache.spark.SparkException;
import org.junit.jupiter.api.Test;

/** The one line a failure ends with, for the failures a run meets beyond bad options. */
class FailuresTest {

  @Test
  void aJobFailureSaysWhatTheExecutorSaid() {
    SparkException attached = new SparkException("Job aborted due to stage failure: Task 0 in "
        + "stage 3.0 failed 1 times, most recent failure: ...",
        new IllegalStateException("round 1: 28 training patches cannot fill one global batch"));
    assertEquals("round 1: 28 training patches cannot fill one global batch",
        Failures.describe(attached));

    SparkException text = new SparkException("Job aborted due to stage failure: Task 0 in stage "
        + "3.0 failed 4 times, most recent failure: Lost task 0.3 in stage 3.0 (TID 9) "
        + "(10.0.0.7 executor 2): java.lang.IllegalStateException: slide_004: cannot read tile\n"
        + "\tat org.tessera.spark.tile.SlideTasks.plan(SlideTasks.java:80)\n");
    assertEquals("slide_004: cannot read tile", Failures.describe(text));
  }

  @Test
  void aMissingNativeLibrarySaysWhatToInstall() {
    String line = Failures.describe(new RuntimeException("cannot open slide",
        new UnsatisfiedLinkError("no openslide in java.library.path")));
    assertTrue(line.contains("libopenslide0") && line.contains("bin/setup"), line);
    String other = Failures.describe(new UnsatisfiedLinkError("no jnind4jcpu in path"));
    assertTrue(other.contains("ND4J") && other.contains("bin/setup"), other);
  }

  @Test
  void aStoppedRunIsAnInterruptionToResume() {
    assertEquals(Failures.INTERRUPTED, Failures.describe(new SparkException(
        "Job 3 cancelled because SparkContext was shut down")));
    assertEquals(Failures.INTERRUPTED, Failures.describe(new IllegalStateException(
        "Cannot call methods on a stopped SparkContext.")));
    assertEquals(Failures.INTERRUPTED, Failures.describe(new RuntimeException(
        new InterruptedException())));
  }

  @Test
  void inputErrorsKeepTheirMessageOthersNameTheirType() {
    assertEquals("labels.csv line 3: label of a is empty", Failures.describe(
        new IllegalArgumentException("labels.csv line 3: label of a is empty")));
    assertTrue(Failures.expected(new IOException("x does not exist")));
    assertFalse(Failures.expected(new NullPointerException("y")));
    assertEquals("NullPointerException: y", Failures.describe(new NullPointerException("y")));
    // A plain RuntimeException's type says nothing (Parquet's "is not a Parquet file").
    assertEquals("f is not a Parquet file", Failures.describe(new RuntimeException(
        "f is not a Parquet file")));
  }

  @Test
  void settingsFieldNamesBecomeOptions() {
    Map<String, String> names = Map.of("learningRate", "--lr", "stepSize", "--step-size",
        "schedule", "--schedule", "features", "--features");
    assertEquals("--step-size=0 with --schedule=step: set --step-size > 0",
        OptionNames.rewrite("stepSize=0 with schedule=step: set stepSize > 0", names));
    assertEquals("--lr=-1.0 must be a finite number > 0",
        OptionNames.rewrite("learningRate=-1.0 must be a finite number > 0", names));
    // Ordinary words and paths stay.
    assertEquals("/data/features has no features", OptionNames.rewrite(
        "/data/features has no features", names));
    assertEquals("weightDecay", OptionNames.camel("--weight-decay"));
  }
}
