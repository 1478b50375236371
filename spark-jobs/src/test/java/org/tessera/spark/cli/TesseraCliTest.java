package org.tessera.spark.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tessera.spark.SparkTestSupport;
import org.tessera.wsi.synth.SynthCohort;

public class TesseraCliTest {
  static SparkSession spark;

  @TempDir
  Path tmp;

  @BeforeAll
  static void start() {
    spark = SparkTestSupport.localSession("TesseraCliTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  /** Runs the CLI in this JVM and returns exit code, stdout and stderr. */
  /** What a command line printed and returned. */
  public record Result(int code, String out, String err) {}

  /** Runs the CLI in this JVM, capturing stdout and stderr. */
  public static Result cli(String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      int code = TesseraCli.execute(args);
      return new Result(code, out.toString(StandardCharsets.UTF_8),
          err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  @Test
  void everySubcommandDocumentsItsOptions() {
    Result top = cli("--help");
    assertEquals(0, top.code());
    for (String sub : List.of("synth", "tile", "embed", "import-features", "train", "evaluate",
        "report", "inspect", "demo")) {
      assertTrue(top.out().contains(sub), "top-level help lists " + sub);
      Result help = cli(sub, "--help");
      assertEquals(0, help.code(), sub);
      assertTrue(help.out().contains("Usage: tessera " + sub), help.out());
      assertFalse((help.out() + help.err()).contains("picocli WARN"), sub + ": " + help.err());
    }
    Result train = cli("train", "--help");
    for (String flag : List.of("--features", "--labels", "--model", "--workers", "--out",
        "--seed", "--folds", "--optimizer", "--loss", "--epochs", "--patience",
        "--expect-encoder")) {
      assertTrue(train.out().contains(flag), "train --help documents " + flag);
    }
    Result evaluate = cli("evaluate", "--help");
    for (String flag : List.of("--run", "--threshold", "--bootstrap", "--seed", "--masks",
        "--tile-size", "--summary-json", "--master", "--conf")) {
      assertTrue(evaluate.out().contains(flag), "evaluate --help documents " + flag);
    }
    Result report = cli("report", "--help");
    for (String flag : List.of("--run", "--heatmaps", "--top-tiles", "--cache-dir",
        "--summary-json", "--master")) {
      assertTrue(report.out().contains(flag), "report --help documents " + flag);
    }
    assertTrue(report.out().contains("metrics.json"), "report --help names its input");
    Result tile = cli("tile", "--help");
    for (String flag : List.of("--slides", "--out", "--mpp", "--magnification", "--tile",
        "--stride", "--min-tissue", "--assume-mpp", "--tissue", "--store-pixels", "--overwrite",
        "--master", "--conf")) {
      assertTrue(tile.out().contains(flag), "tile --help documents " + flag);
    }
  }

  @Test
  void usageErrorsAndBadInputAreOneClearLine() {
    Result missing = cli("tile", "--out", tmp.toString());
    assertEquals(2, missing.code());
    assertTrue(missing.err().contains("--slides"), missing.err());

    Result both = cli("tile", "--slides", "x", "--out", "y", "--mpp", "0.5", "--magnification",
        "20");
    assertEquals(2, both.code());

    Result noSuch = cli("tile", "--slides", tmp.resolve("nope").toString(), "--out",
        tmp.resolve("o").toString());
    assertEquals(1, noSuch.code());
    assertEquals(1, noSuch.err().strip().lines().count(), noSuch.err());
    assertTrue(noSuch.err().contains("nope") && noSuch.err().contains("does not exist"),
        noSuch.err());

    Result noRun = cli("evaluate", "--run", tmp.resolve("no-run").toString());
    assertEquals(1, noRun.code());
    assertEquals(1, noRun.err().strip().lines().count(), noRun.err());
    assertTrue(noRun.err().contains("tessera evaluate: ") && noRun.err().contains("no-run"),
        noRun.err());

    Result badTissue = cli("tile", "--slides", tmp.toString(), "--out",
        tmp.resolve("o").toString(), "--tissue", "default,median=4");
    assertEquals(1, badTissue.code());
    assertTrue(badTissue.err().contains("median=4"), badTissue.err());
  }

  @Test
  void tileThenInspectGivesPerSlideCountsAndStatuses() throws Exception {
    Path slides = SparkTestSupport.cohort().resolve(SynthCohort.SLIDES_DIR);
    Path out = tmp.resolve("run");
    Path summary = tmp.resolve("summary.json");
    Result tile = cli("tile", "--slides", slides.toString(), "--out", out.toString(),
        "--magnification", "20", "--summary-json", summary.toString());
    assertEquals(0, tile.code(), tile.err());
    assertTrue(tile.out().contains("3 ok, 3 failed"), tile.out());

    JsonNode s = new ObjectMapper().readTree(summary.toFile());
    assertEquals(3, s.get("ok").asInt());

    Result inspect = cli("inspect", out.toString());
    assertEquals(0, inspect.code(), inspect.err());
    JsonNode j = new ObjectMapper().readTree(inspect.out());
    assertEquals("tile-output", j.get("kind").asText());
    JsonNode slidesTable = j.get("tables").get("slides");
    assertEquals(6, slidesTable.get("rows").asInt());
    assertEquals(3, slidesTable.get("status_counts").get("ok").asInt());
    assertEquals(3, slidesTable.get("status_counts").get("failed").asInt());
    JsonNode tiles = j.get("tables").get("tiles");
    long sum = 0;
    for (var e : (Iterable<java.util.Map.Entry<String, JsonNode>>) () ->
        slidesTable.get("per_slide").fields()) {
      long n = e.getValue().get("tile_count").asLong();
      JsonNode perSlideTiles = tiles.get("per_slide").get(e.getKey());
      assertEquals(n, perSlideTiles == null ? 0 : perSlideTiles.asLong(), e.getKey());
      sum += n;
      if (e.getValue().get("status").asText().equals("failed")) {
        assertTrue(e.getValue().get("error").asText().contains("--assume-mpp"));
      }
    }
    assertEquals(tiles.get("rows").asLong(), sum);
    assertEquals("string", tiles.get("columns").get("slide_id").asText());
    assertTrue(j.get("files").get("tile_params.json").get("tiling").has("target_mpp"));
  }

  /** No Java stack frame on a console stream. */
  static boolean hasStackTrace(String text) {
    return text.contains("\tat ") || text.contains("Exception in thread");
  }

  @Test
  void aValueOfTheWrongTypeIsOneLineNotTheUsage() {
    Result r = cli("train", "--features", "f", "--labels", "l", "--model", "mean", "--out", "o",
        "--epochs", "abc");
    assertEquals(2, r.code());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    assertTrue(r.err().contains("--epochs") && r.err().contains("abc"), r.err());
    assertFalse(r.err().contains("Usage:"), r.err());

    Result unknown = cli("tile", "--slides", "s", "--out", "o", "--tiles", "256");
    assertEquals(2, unknown.code());
    assertEquals(1, unknown.err().strip().lines().count(), unknown.err());
    assertTrue(unknown.err().contains("--tiles"), unknown.err());
  }

  @Test
  void optionErrorsNameTheOptionNotTheSettingsField() {
    Result lr = cli("train", "--features", tmp.toString(), "--labels", "l.csv", "--model",
        "mean", "--out", tmp.resolve("run").toString(), "--lr", "-1");
    assertEquals(1, lr.code());
    assertEquals(1, lr.err().strip().lines().count(), lr.err());
    assertTrue(lr.err().contains("--lr"), lr.err());
    assertFalse(lr.err().contains("learningRate"), lr.err());

    Result step = cli("train", "--features", tmp.toString(), "--labels", "l.csv", "--model",
        "mean", "--out", tmp.resolve("run").toString(), "--schedule", "step", "--step-size",
        "0");
    assertEquals(1, step.code());
    assertTrue(step.err().contains("--step-size"), step.err());
    assertFalse(step.err().contains("stepSize"), step.err());

    Result patchLr = cli("collaborate", "--tiles", tmp.toString(), "--labels", "l.csv",
        "--out", tmp.resolve("c").toString(), "--random-init", "--patch-lr", "0");
    assertEquals(1, patchLr.code());
    assertTrue(patchLr.err().contains("--patch-lr"), patchLr.err());
    assertFalse(patchLr.err().contains("learningRate"), patchLr.err());

    Result momentum = cli("train", "--features", tmp.toString(), "--labels", "l.csv", "--model",
        "mean", "--out", tmp.resolve("run").toString(), "--momentum", "1.5");
    assertEquals(1, momentum.code());
    assertTrue(momentum.err().contains("--momentum=1.5"), momentum.err());

    Result slides = cli("synth", "--out", tmp.resolve("s").toString(), "--slides", "0");
    assertEquals(1, slides.code());
    assertTrue(slides.err().contains("--slides"), slides.err());
  }

  @Test
  void anUnexpectedFailureIsOneLineAndItsStackTraceGoesToTheLog() throws Exception {
    // Not Parquet: Spark's reading job fails on an executor.
    Path table = tmp.resolve("table");
    java.nio.file.Files.createDirectories(table);
    java.nio.file.Files.writeString(table.resolve("part-0.parquet"), "not parquet at all");
    Result r = cli("inspect", table.toString());
    assertEquals(1, r.code());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    assertFalse(hasStackTrace(r.err()), r.err());
    assertTrue(r.err().startsWith("tessera inspect: "), r.err());
    assertTrue(r.err().contains("part-0.parquet"), r.err());
    java.util.regex.Matcher log = java.util.regex.Pattern.compile("stack trace in (\\S+);")
        .matcher(r.err());
    assertTrue(log.find(), r.err());
    assertTrue(java.nio.file.Files.readString(Path.of(log.group(1))).contains("\tat "),
        "the log holds the stack trace");

    Result verbose = cli("--verbose", "inspect", table.toString());
    assertEquals(1, verbose.code());
    assertTrue(hasStackTrace(verbose.err()), verbose.err());
    List<String> lines = verbose.err().strip().lines().toList();
    assertTrue(lines.get(lines.size() - 1).startsWith("tessera inspect: "), verbose.err());
    // The option is global: after the subcommand too.
    Result after = cli("inspect", "--verbose", table.toString());
    assertEquals(1, after.code(), after.err());
    assertTrue(hasStackTrace(after.err()), after.err());
  }

  @Test
  void embedProgressCountsTilesOfTheKnownTotal() throws Exception {
    Path slides = SparkTestSupport.cohort().resolve(SynthCohort.SLIDES_DIR);
    Path tiles = tmp.resolve("tiles");
    Result tile = cli("tile", "--slides", slides.toString(), "--out", tiles.toString(),
        "--assume-mpp", "0.5");
    assertEquals(0, tile.code(), tile.err());
    Result embed = cli("embed", "--tiles", tiles.toString(), "--out",
        tmp.resolve("feat").toString(), "--encoder", "small-cnn", "--random-init",
        "--input-size", "32");
    assertEquals(0, embed.code(), embed.err());
    List<String> progress = embed.out().lines().filter(l -> l.startsWith("[embed] ")
        && l.contains(" slides | ")).toList();
    assertFalse(progress.isEmpty(), embed.out());
    for (String line : progress) {
      // Tiles of the known total, so the ETA never waits for a whole slide.
      assertTrue(line.matches("\\[embed] \\d+/6 slides \\| [\\d,]+/[\\d,]+ tiles \\| .*"), line);
      assertFalse(line.endsWith("ETA ?"), line);
    }
  }

  @Test
  void inspectOnAFolderThatIsNoTesseraOutputSaysSo() throws Exception {
    Path folder = tmp.resolve("notes");
    java.nio.file.Files.createDirectories(folder);
    java.nio.file.Files.writeString(folder.resolve("todo.txt"), "nothing here");
    Result r = cli("inspect", folder.toString());
    assertEquals(1, r.code());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    assertTrue(r.err().contains("notes") && r.err().contains("not a Tessera output"), r.err());
  }
}
