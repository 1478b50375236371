package org.tessera.spark.notebooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.tessera.spark.cli.TesseraCliTest.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.tessera.core.optim.OptimizerConfig;
import org.tessera.core.train.TrainLoop;
import org.tessera.spark.SparkTestSupport;
import org.tessera.spark.cli.TesseraCliTest.Result;
import org.tessera.spark.embed.EmbedSettings;
import org.tessera.spark.embed.EmbedStage;
import org.tessera.spark.eval.EvaluateSettings;
import org.tessera.spark.eval.EvaluateStage;
import org.tessera.spark.train.HeadOptions;
import org.tessera.spark.train.TrainSettings;
import org.tessera.spark.train.TrainStage;
import org.tessera.wsi.synth.SynthCohort;

/**
 * Runs every Zeppelin note in {@code notebooks/} against a small real cohort and its runs (six
 * synthetic slides tiled and embedded; two evaluated train runs; a one-round collaborative run),
 * through {@link NoteRunner}: a paragraph that does not compile or throws fails its note, and
 * each note must print the tables and images it exists for. Notes share one interpreter, as in
 * Zeppelin's default globally shared mode; {@link NotesFormatTest} checks that none relies on
 * another's definitions. A note without expectations here fails, so none goes unrun.
 */
class NotebooksIT {
  /** What each note printed, kept for reading after the run. */
  static final Path OUTPUTS = Path.of("target", "notebook-outputs");
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
  private static final Pattern IMG = Pattern.compile("<img [^>]*src=\"data:image/png;base64,"
      + "[A-Za-z0-9+/=]{100,}\"/><figcaption>([^<]*)</figcaption>");

  /** What a note must print: tables by their leading columns (with rows), images by caption. */
  private record Expected(List<List<String>> tables, List<String> imageCaptions, int images) {}

  /** A {@code %table} as Zeppelin reads it: a header line, then one line per row. */
  private record Table(List<String> columns, List<List<String>> rows) {}

  private static final Map<String, Expected> EXPECTED = Map.of(
      "explore-cohort.zpln", new Expected(List.of(
          List.of("slide_id", "label", "split", "status", "vendor"),
          List.of("slide_id", "label", "tiles", "mean_tissue_fraction"),
          List.of("label", "split", "slides", "tiled", "tiles")),
          List.of("slide_000 (normal)", "slide_005 (tumor)"), 6),
      "train-head.zpln", new Expected(List.of(
          List.of("split", "epoch", "step_loss", "learning_rate", "train_accuracy"),
          List.of("epoch", "train_loss", "val_loss", "split"),
          List.of("epoch", "train_auc", "val_auc", "split")), List.of(), 0),
      "attention.zpln", new Expected(List.of(
          List.of("slide_id", "split", "label", "label_index", "predicted"),
          List.of("slide_id", "split", "label", "predicted", "rank", "x", "y", "attention"),
          List.of("slide_id", "split", "label", "predicted", "top_tiles_attention")),
          List.of("run-slide-1-heatmap.png", "run-slide-1-tile-1.png"), 2),
      "compare-runs.zpln", new Expected(List.of(
          List.of("run", "fold", "split", "metric", "value", "ci_low", "ci_high"),
          List.of("run", "fold", "split", "auc", "pr_auc", "accuracy"),
          List.of("run", "fold", "auc", "ci_low", "ci_high"),
          List.of("round", "val_auc", "test_auc", "localisation_auc")), List.of(), 0));

  private static final Map<String, String> INPUTS = new LinkedHashMap<>();

  static SparkSession spark;
  static NoteRunner runner;

  @TempDir
  static Path tmp;

  /**
   * Tiles and embeds the six-slide cohort, trains and evaluates two heads and runs one
   * collaborative round; the report is left to the attention note, which draws it when a run
   * has none. The interpreter starts last, on the same session.
   */
  @BeforeAll
  static void setUp() throws Exception {
    long t0 = System.nanoTime();
    spark = NoteRunner.localSession("NotebooksIT",
        Files.createDirectories(tmp.resolve("repl-classes")));
    Path slides = SparkTestSupport.cohort().resolve(SynthCohort.SLIDES_DIR);
    Path labels = SparkTestSupport.givenSplitLabels(tmp);
    Path tiles = SparkTestSupport.tile(spark, slides, tmp);
    Path feat = tmp.resolve("feat");
    EmbedStage.run(spark, tiles.toString(), feat.toString(), new EmbedSettings("small-cnn", "",
        "", true, 7, 0, 16, "none", "", 64, false, tmp.resolve("cache").toString()), QUIET);
    Path runA = trainAndEvaluate(feat, labels, "run", "gated-abmil", 3);
    Path runB = trainAndEvaluate(feat, labels, "run-b", "abmil", 5);
    Path collab = tmp.resolve("collab");
    Result r = cli("collaborate", "--tiles", tiles.toString(), "--labels", labels.toString(),
        "--rounds", "1", "--workers", "2", "--out", collab.toString(), "--random-init",
        "--seed", "5", "--input-size", "32", "--epochs", "3", "--patience", "3",
        "--pseudo-fraction", "0.3", "--patch-epochs", "2", "--patch-batch", "4", "--shards", "2");
    assertEquals(0, r.code(), r.err());

    INPUTS.put("tessera.tiles", tiles.toString());
    INPUTS.put("tessera.labels", labels.toString());
    INPUTS.put("tessera.maxThumbnails", "6");
    INPUTS.put("tessera.features", feat.toString());
    INPUTS.put("tessera.trainOut", tmp.resolve("notebook-head").toString());
    INPUTS.put("tessera.epochs", "3");
    INPUTS.put("tessera.patience", "3");
    INPUTS.put("tessera.run", runA.toString());
    INPUTS.put("tessera.heatmaps", "1");
    INPUTS.put("tessera.topTiles", "2");
    INPUTS.put("tessera.runs", runA + "," + runB);
    INPUTS.put("tessera.collab", collab.toString());
    INPUTS.forEach(System::setProperty);
    long t1 = System.nanoTime();
    runner = new NoteRunner(spark);
    System.err.printf("NotebooksIT: runs built in %.1f s, interpreter started in %.1f s%n",
        (t1 - t0) / 1e9, (System.nanoTime() - t1) / 1e9);
  }

  private static Path trainAndEvaluate(Path feat, Path labels, String name, String model,
      long seed) throws Exception {
    Path run = tmp.resolve(name);
    HeadOptions head = new HeadOptions(model, 32, 16, -1, "", null, -1, -1, 0, -1, 0, "");
    TrainStage.run(spark, new TrainSettings(feat.toString(), labels.toString(), run.toString(),
        List.of(), 2, seed, 0, 0.2, 2, "", head,
        OptimizerConfig.defaults("adam").withLearningRate(2e-3),
        new TrainLoop.Settings(3, 3, 0), false), QUIET);
    EvaluateStage.run(spark, new EvaluateSettings(run.toString(), "youden", 50, null, "", 0),
        QUIET);
    return run;
  }

  @AfterAll
  static void tearDown() {
    INPUTS.keySet().forEach(System::clearProperty);
    if (runner != null) {
      runner.close();
    }
    spark.stop();
  }

  @Test
  void everyNoteHasExpectations() throws Exception {
    assertEquals(new TreeSet<>(EXPECTED.keySet()), new TreeSet<>(NotesFormatTest.notes().stream()
        .map(p -> p.getFileName().toString()).toList()),
        "a note in notebooks/ needs its expectations in NotebooksIT.EXPECTED");
  }

  /**
   * The runner itself: a paragraph that does not compile, one that throws and a bad query each
   * fail their note, naming the paragraph; a statement left open is not silently dropped.
   */
  @Test
  void aFailingParagraphFailsItsNoteNamingIt() throws Exception {
    Map<String, String> bad = Map.of(
        "val n: Int = \"text\"", "paragraph 1: line 2 failed",
        "val ok = 1\nsys.error(\"no such slide\")", "paragraph 1: line 3 failed",
        "val open = Seq(1,", "paragraph 1: ends inside an incomplete statement");
    for (Map.Entry<String, String> e : bad.entrySet()) {
      Path note = tmp.resolve("bad.zpln");
      Files.writeString(note, new ObjectMapper().writeValueAsString(
          Map.of("paragraphs", List.of(Map.of("text", "%md\n# a note"),
              Map.of("text", "%spark\n" + e.getKey())))));
      AssertionError failure = assertThrows(
          AssertionError.class, () -> runner.run(note), e.getKey());
      assertTrue(failure.getMessage().startsWith("bad.zpln " + e.getValue()),
          failure.getMessage());
    }
    Path query = tmp.resolve("bad-query.zpln");
    Files.writeString(query, "{\"paragraphs\":[{\"text\":\"%sql\\nSELECT nope FROM nowhere\"}]}");
    AssertionError failure = assertThrows(AssertionError.class,
        () -> runner.run(query));
    assertTrue(failure.getMessage().startsWith("bad-query.zpln paragraph 0: query failed"),
        failure.getMessage());
  }

  @TestFactory
  Stream<DynamicTest> everyParagraphOfEveryNoteRuns() throws Exception {
    return NotesFormatTest.notes().stream().map(note -> DynamicTest.dynamicTest(
        note.getFileName().toString(), () -> check(note)));
  }

  private static void check(Path note) throws Exception {
    long t0 = System.nanoTime();
    List<NoteRunner.Output> outputs = runner.run(note);
    System.err.printf("NotebooksIT: %s ran in %.1f s%n", note.getFileName(),
        (System.nanoTime() - t0) / 1e9);
    String all = String.join("\n", outputs.stream().map(NoteRunner.Output::text).toList());
    Files.createDirectories(OUTPUTS);
    Files.writeString(OUTPUTS.resolve(note.getFileName() + ".txt"), all);
    Expected expected = EXPECTED.get(note.getFileName().toString());
    assertTrue(expected != null, note + " has no expectations in NotebooksIT.EXPECTED");
    List<Table> tables = outputs.stream().flatMap(o -> tables(o.text()).stream()).toList();
    for (List<String> columns : expected.tables()) {
      assertTrue(tables.stream().anyMatch(t -> t.columns().size() >= columns.size()
          && t.columns().subList(0, columns.size()).equals(columns) && !t.rows().isEmpty()),
          note.getFileName() + ": no %table with rows and columns " + columns + "; tables: "
              + tables.stream().map(Table::columns).toList() + "\n" + all);
    }
    List<String> captions = new ArrayList<>();
    Matcher m = IMG.matcher(all);
    while (m.find()) {
      captions.add(m.group(1));
    }
    assertTrue(captions.size() >= expected.images() && captions.containsAll(
        expected.imageCaptions()), note.getFileName() + ": images " + captions + ", expected "
        + expected.images() + " or more with " + expected.imageCaptions());
    if (note.getFileName().toString().equals("compare-runs.zpln")) {
      Table headline = tables.stream().filter(t -> t.columns().contains("pr_auc")).findFirst()
          .orElseThrow();
      assertEquals(Set.of("run", "run-b"), Set.copyOf(headline.rows().stream()
          .map(r -> r.get(0)).toList()), "both runs are compared");
      Table rounds = tables.stream().filter(t -> t.columns().get(0).equals("round"))
          .findFirst().orElseThrow();
      assertEquals(List.of("0", "1"), rounds.rows().stream().map(r -> r.get(0)).toList());
    }
  }

  /** The {@code %table} sections of a paragraph's output. */
  private static List<Table> tables(String text) {
    List<Table> out = new ArrayList<>();
    Table current = null;
    for (String line : text.split("\n")) {
      if (line.startsWith("%table ")) {
        current = new Table(List.of(line.substring(7).split("\t")), new ArrayList<>());
        out.add(current);
      } else if (line.startsWith("%") || line.isEmpty()) {
        current = null;
      } else if (current != null) {
        current.rows().add(Arrays.asList(line.split("\t", -1)));
      }
    }
    return out;
  }
}
