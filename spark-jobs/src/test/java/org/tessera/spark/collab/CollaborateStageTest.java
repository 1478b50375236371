package org.tessera.spark.collab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.tessera.spark.cli.TesseraCliTest.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tessera.core.collab.PatchClasses;
import org.tessera.core.collab.PseudoLabeler;
import org.tessera.core.nn.StateDicts;
import org.tessera.core.nn.patch.PatchNet;
import org.tessera.core.optim.OptimizerConfig;
import org.tessera.core.train.TrainLoop;
import org.tessera.spark.SparkTestSupport;
import org.tessera.spark.cli.TesseraCliTest.Result;
import org.tessera.spark.embed.EmbedStage;
import org.tessera.spark.train.HeadOptions;
import org.tessera.wsi.synth.SynthCohort;

/**
 * The collaborative loop on six small synthetic slides (given splits: two slides each in train,
 * val and test), with a 32 px encoder input so it runs in a unit test: every step's output,
 * resuming a finished run to a further round without redoing anything, the M-step giving the
 * same encoder on one worker as on two, and one-line refusals.
 */
class CollaborateStageTest {
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
  private static final ObjectMapper JSON = new ObjectMapper();

  static SparkSession spark;
  static Path tiles;
  static Path labels;
  static Path run;
  static Result first;

  @TempDir
  static Path tmp;

  @BeforeAll
  static void setUp() throws Exception {
    spark = SparkTestSupport.localSession("CollaborateStageTest");
    Path cohort = SparkTestSupport.cohort();
    labels = SparkTestSupport.givenSplitLabels(tmp);
    tiles = SparkTestSupport.tile(spark, cohort.resolve(SynthCohort.SLIDES_DIR), tmp);
    run = tmp.resolve("run");
    first = cli(args(1));
  }

  /** The command line of a small run with {@code rounds} EM rounds. */
  private static String[] args(int rounds) {
    return new String[] {"collaborate", "--tiles", tiles.toString(), "--labels",
        labels.toString(), "--rounds", String.valueOf(rounds), "--workers", "2", "--out",
        run.toString(), "--random-init", "--seed", "5", "--input-size", "32", "--epochs", "3",
        "--patience", "3", "--pseudo-fraction", "0.3", "--patch-epochs", "2",
        "--patch-batch", "4", "--shards", "2"};
  }

  @Test
  void tooFewPatchesForOneGlobalBatchStopOnTheDriverInOneLine() throws Exception {
    Path small = tmp.resolve("too-few");
    String[] a = args(1);
    for (int i = 0; i < a.length; i++) {
      if (a[i].equals("--out")) {
        a[i + 1] = small.toString();
      } else if (a[i].equals("--patch-batch")) {
        a[i + 1] = "64";
      } else if (a[i].equals("--shards")) {
        a[i + 1] = "8";
      }
    }
    Result r = cli(a);
    assertEquals(1, r.code(), r.err());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    assertTrue(r.err().contains("training patches, too few for one global batch of 64")
        && r.err().contains("--patch-batch") && r.err().contains("--pseudo-fraction"), r.err());
    assertFalse(r.err().contains("\tat "), r.err());
    // Stopped before the barrier stage: no M-step output at all.
    RoundDirs round1 = RoundDirs.of(new org.apache.hadoop.fs.Path(small.toUri()), 1);
    assertTrue(Files.exists(Path.of(round1.pseudoLabelSummary().toUri())), "the E-step ran");
    assertFalse(Files.exists(Path.of(round1.encoderWeights().toUri())), r.err());
    assertFalse(Files.exists(Path.of(round1.encoderHistory().toUri())), r.err());
  }

  @AfterAll
  static void tearDown() {
    spark.stop();
  }

  @Test
  void everyStepOfARoundLeavesItsOutput() throws Exception {
    assertEquals(0, first.code(), first.err());
    Path r1 = run.resolve("round-1");
    for (Path p : List.of(run.resolve("round-0/head/metrics.json"),
        r1.resolve("pseudo-labels.parquet"), r1.resolve("pseudo-labels.json"),
        r1.resolve("encoder/encoder-round-1.safetensors"),
        r1.resolve("encoder/patch-net.safetensors"), r1.resolve("encoder/history.jsonl"),
        r1.resolve("encoder/result.json"), r1.resolve("features/manifest.json"),
        r1.resolve("head/metrics.json"), run.resolve("report/index.html"),
        run.resolve(CollaborateStage.CONFIG))) {
      assertTrue(Files.exists(p), p + " missing\n" + first.out());
    }
    JsonNode rounds = JSON.readTree(run.resolve(CollaborateStage.ROUNDS).toFile());
    // Two rounds, or three once the continuation test has run.
    assertTrue(rounds.size() >= 2, rounds.toString());
    assertEquals(1, rounds.get(1).path("round").asInt());
    // The six small slides' test lesions may be too small for a lesion tile: the field is
    // there, null when there is nothing to localise.
    assertTrue(rounds.get(1).has("localisation_auc"), rounds.toString());
    assertTrue(rounds.get(1).path("pseudo_train").asInt() > 0, rounds.toString());

    // Pseudo-labels come from the train and val slides only, top tiles of tumour slides are
    // tumour, everything else normal.
    Set<String> sets = new HashSet<>();
    for (Row r : spark.read().parquet(r1.resolve("pseudo-labels.parquet").toString())
        .collectAsList()) {
      String id = r.getAs("slide_id");
      assertFalse(id.equals("slide_003") || id.equals("slide_005"), "test slide " + id);
      String set = r.getAs("set");
      sets.add(set);
      assertEquals(id.equals("slide_000") || id.equals("slide_002") ? "train" : "holdout", set);
      boolean tumourTop = (id.equals("slide_002") || id.equals("slide_004"))
          && r.<Boolean>getAs("top");
      assertEquals(tumourTop ? 1 : 0, r.<Integer>getAs("patch_class"), id);
    }
    assertEquals(Set.of("train", "holdout"), sets);

    // The fine-tuned encoder is what round 1 embedded with.
    JsonNode manifest = JSON.readTree(r1.resolve("features/manifest.json").toFile());
    assertFalse(manifest.toString().contains("random-init"), manifest.toString());
    JsonNode round0 = JSON.readTree(run.resolve("round-0/features/manifest.json").toFile());
    assertTrue(round0.toString().contains("random-init:5"), round0.toString());
  }

  @Test
  void aFinishedRunContinuesToAFurtherRoundWithoutRedoingAnything() throws Exception {
    assertEquals(0, first.code(), first.err());
    Path result = run.resolve("round-1/encoder/result.json");
    Path weights = run.resolve("round-1/encoder/encoder-round-1.safetensors");
    FileTime resultTime = Files.getLastModifiedTime(result);
    byte[] before = Files.readAllBytes(weights);
    Result again = cli(args(2));
    assertEquals(0, again.code(), again.err());
    assertTrue(again.out().contains("m-step round 1") && again.out().contains("(done before)"),
        again.out());
    assertEquals(resultTime, Files.getLastModifiedTime(result));
    assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(weights)));
    assertTrue(Files.exists(run.resolve("round-2/head/metrics.json")), again.out());
    assertEquals(3, JSON.readTree(run.resolve(CollaborateStage.ROUNDS).toFile()).size());
  }

  @Test
  void aRunStoppedAfterTheEStepResumesThere() throws Exception {
    assertEquals(0, first.code(), first.err());
    Path r1 = run.resolve("round-1");
    Path labelsTable = r1.resolve("pseudo-labels.parquet");
    FileTime labelled = Files.getLastModifiedTime(labelsTable);
    FileTime cut = Files.getLastModifiedTime(r1.resolve("patches/slide_000.parquet"));
    // As if stopped during the M-step: what came after the E-step and the cutting is gone.
    for (String gone : List.of("encoder", "features", "head")) {
      try (Stream<Path> files = Files.walk(r1.resolve(gone))) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
    Result again = cli(args(1));
    assertEquals(0, again.code(), again.err());
    assertTrue(again.out().contains("e-step round 1") && again.out().contains("(done before)"),
        again.out());
    assertTrue(again.out().contains("0 cut from 0 slides"), again.out());
    assertEquals(labelled, Files.getLastModifiedTime(labelsTable));
    assertEquals(cut, Files.getLastModifiedTime(r1.resolve("patches/slide_000.parquet")));
    for (String back : List.of("encoder/result.json", "features/manifest.json",
        "head/metrics.json")) {
      assertTrue(Files.exists(r1.resolve(back)), back + "\n" + again.out());
    }
  }

  @Test
  void oneWorkerAndTwoTrainTheSameEncoder() throws Exception {
    assertEquals(0, first.code(), first.err());
    Map<String, float[]> one = mStep(1);
    Map<String, float[]> two = mStep(2);
    assertEquals(one.keySet(), two.keySet());
    double worst = 0;
    for (String k : one.keySet()) {
      float[] a = one.get(k);
      float[] b = two.get(k);
      for (int i = 0; i < a.length; i++) {
        worst = Math.max(worst, Math.abs(a[i] - b[i]));
      }
    }
    assertTrue(worst <= 1e-5, "K=1 vs K=2 max weight difference " + worst);
    // And the M-step did move the weights away from the round-0 encoder it started from (two
    // epochs of SGD with momentum), so the equality above is not that of two untouched copies.
    float[] start = StateDicts.initial("small-cnn", 32, 5).get("block1.conv.weight");
    float[] trained = one.get("block1.conv.weight");
    double moved = 0;
    for (int i = 0; i < start.length; i++) {
      moved = Math.max(moved, Math.abs(trained[i] - start[i]));
    }
    assertTrue(moved > 1e-4, "the first convolution moved by at most " + moved);
  }

  /** Round 1's M-step again, with plain SGD + momentum on {@code workers} into a fresh folder. */
  private static Map<String, float[]> mStep(int workers) throws Exception {
    Path root = tmp.resolve("mstep-" + workers);
    copy(run.resolve("round-1/patches"), root.resolve("round-1/patches"));
    CollaborateSettings s = settings(workers);
    org.apache.hadoop.fs.Path base = new org.apache.hadoop.fs.Path(root.toUri());
    RoundDirs dirs = RoundDirs.of(base, 1);
    EncoderTrainingStage.run(spark, s, 1, PatchClasses.of(List.of("normal", "tumor"), "", ""),
        EmbedStage.preprocessing(CollaborateStage.embedSettings(s, java.util.Optional.empty()),
            32), RoundDirs.of(base, 0), dirs, QUIET);
    return PatchNet.readStateDict(root.resolve("round-1/encoder/patch-net.safetensors"));
  }

  private static CollaborateSettings settings(int workers) {
    return new CollaborateSettings(tiles.toString(), labels.toString(), tmp.resolve("x")
        .toString(), 1, workers, 5, "small-cnn", "", true, 32, 16, "none",
        HeadOptions.of("gated-abmil"), OptimizerConfig.defaults("adam"),
        new TrainLoop.Settings(3, 3, 0), "", "", new PseudoLabeler.Schedule(0.3, 0.05, 0.3), 2,
        2, 4, 2, OptimizerConfig.defaults("momentum").withLearningRate(0.01), "",
        tmp.resolve("cache").toString());
  }

  private static void copy(Path from, Path to) throws Exception {
    Files.createDirectories(to);
    try (Stream<Path> files = Files.list(from)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        Files.copy(f, to.resolve(f.getFileName()));
      }
    }
  }

  @Test
  void settingsAreCheckedAndAnotherRunIsNotOverwritten() {
    assertEquals(0, first.code(), first.err());
    String[] other = args(1);
    other[other.length - 1] = "3"; // --shards 3
    Result r = cli(other);
    assertEquals(1, r.code(), r.out());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    assertTrue(r.err().contains("must be a positive multiple of --shards"), r.err());
    String[] seed = args(1);
    seed[13] = "6"; // --seed 6
    Result s = cli(seed);
    assertEquals(1, s.code(), s.out());
    assertTrue(s.err().contains("holds a collaborate run with other settings"), s.err());
    assertThrows(IllegalArgumentException.class, () -> new PseudoLabeler.Schedule(0.6, 0, 0.6));
  }
}
