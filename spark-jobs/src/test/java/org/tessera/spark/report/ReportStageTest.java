package org.tessera.spark.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.tessera.spark.cli.TesseraCliTest.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
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
 * The report of a small real run (synthetic slides, tiled, embedded by the small CNN, a
 * gated-ABMIL head trained a few epochs), opened in headless Chromium: every image loads, the
 * headline AUC is the one in {@code metrics.json}, a slide whose file is gone is listed rather
 * than fatal. A full-page screenshot is kept as {@code target/report-screenshot.png}.
 */
class ReportStageTest {
  static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  static final Path SCREENSHOT = Path.of("target", "report-screenshot.png");
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

  static SparkSession spark;
  static Path slides;
  static Path run;
  static JsonNode metrics;

  @TempDir
  static Path tmp;

  /**
   * Six slides: one of each class in train, val and test (patients are the slides, so the
   * given splits are legal), all tiled with an assumed MPP so every slide has tiles.
   */
  @BeforeAll
  static void setUp() throws Exception {
    spark = SparkTestSupport.localSession("ReportStageTest");
    Path cohort = SparkTestSupport.cohort();
    slides = Files.createDirectories(tmp.resolve("slides"));
    try (Stream<Path> files = Files.list(cohort.resolve(SynthCohort.SLIDES_DIR))) {
      for (Path f : files.toList()) {
        Files.copy(f, slides.resolve(f.getFileName()));
      }
    }
    Path labels = SparkTestSupport.givenSplitLabels(tmp);
    Path tiles = SparkTestSupport.tile(spark, slides, tmp);
    Path feat = tmp.resolve("feat");
    EmbedStage.run(spark, tiles.toString(), feat.toString(), new EmbedSettings("small-cnn", "",
        "", true, 7, 0, 16, "none", "", 64, false, tmp.resolve("cache").toString()), QUIET);
    run = tmp.resolve("run");
    HeadOptions head = new HeadOptions("gated-abmil", 32, 16, -1, "", null, -1, -1, 0, -1, 0,
        "");
    TrainStage.run(spark, new TrainSettings(feat.toString(), labels.toString(), run.toString(),
        List.of(), 2, 3, 0, 0.2, 2, "", head,
        OptimizerConfig.defaults("adam").withLearningRate(2e-3),
        new TrainLoop.Settings(3, 3, 0), false), QUIET);
    metrics = evaluate(run);
  }

  /** What {@code tessera evaluate --run RUN --bootstrap 200} writes, read back. */
  private static JsonNode evaluate(Path dir) throws Exception {
    EvaluateStage.run(spark, new EvaluateSettings(dir.toString(), "youden", 200, null, "", 0),
        QUIET);
    return new ObjectMapper().readTree(dir.resolve(EvaluateStage.METRICS).toFile());
  }

  @AfterAll
  static void tearDown() {
    spark.stop();
  }

  @Test
  void aRunWithoutMetricsFailsWithOneLineNamingEvaluate() throws Exception {
    Path bare = Files.createDirectories(tmp.resolve("bare"));
    Files.copy(run.resolve(TrainStage.CONFIG), bare.resolve(TrainStage.CONFIG));
    Result r = cli("report", "--run", bare.toString(), "--master", "local[1]");
    assertEquals(1, r.code(), r.err());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    assertTrue(r.err().contains("metrics.json")
        && r.err().contains("tessera evaluate --run " + bare), r.err());
    assertFalse(Files.exists(bare.resolve(ReportStage.REPORT_DIR)));
  }

  @Test
  void theReportOpensInChromiumWithEveryImageAndTheHeadlineNumbers() throws Exception {
    // slide_003 is the test split's negative, drawn with --heatmaps 2: its file is gone.
    Files.delete(slides.resolve("slide_003.tif"));
    Result r = cli("report", "--run", run.toString(), "--heatmaps", "2", "--top-tiles", "3");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("1 slide(s) drawn, 1 unreadable"), r.out());

    Path report = run.resolve(ReportStage.REPORT_DIR);
    Path figures = report.resolve(ReportStage.FIGURES);
    for (String f : List.of("run-roc.png", "run-pr.png", "run-loss.png", "run-auc.png",
        "run-confusion.png", "run-slide-1-heatmap.png", "run-slide-1-tile-1.png",
        "run-slide-1-tile-3.png")) {
      assertTrue(Files.size(figures.resolve(f)) > 0, f);
    }
    assertFalse(Files.exists(run.resolve("report.tmp")));
    assertFalse(Files.exists(run.resolve("report.old")));
    String html = Files.readString(report.resolve(ReportStage.INDEX));
    assertFalse(html.contains("<script"), "the page needs no JavaScript");
    assertFalse(html.matches("(?s).*(src|href)=\"(https?:|/).*"),
        "every link is relative to the report folder");

    String expectedAuc = String.format(Locale.ROOT, "%.3f", metrics.path("folds").path(0)
        .path("splits").path("test").path("metrics").path("auc").path("value").asDouble());
    ChromeDriver browser = chromium();
    try {
      browser.get(report.resolve(ReportStage.INDEX).toUri().toString());
      @SuppressWarnings("unchecked")
      List<List<Object>> images = (List<List<Object>>) ((JavascriptExecutor) browser)
          .executeScript("return Array.from(document.images).map("
              + "i => [i.getAttribute('src'), i.complete, i.naturalWidth]);");
      assertEquals(9, images.size(), "images on the page: " + images);
      for (List<Object> img : images) {
        assertEquals(Boolean.TRUE, img.get(1), "loaded: " + img);
        assertTrue(((Number) img.get(2)).longValue() > 0, "image has pixels: " + img);
      }
      assertEquals(expectedAuc, browser.findElement(By.id("headline-auc")).getText());
      for (String m : ReportStage.HEADLINE) {
        assertFalse(browser.findElement(By.id("headline-" + m)).getText().isBlank(), m);
      }
      assertTrue(browser.findElement(By.id("not-drawn")).getText().contains("slide_003"));
      String body = browser.findElement(By.tagName("body")).getText();
      assertTrue(body.contains("encoder.weights_sha256") && body.contains("random-init:7"),
          "the encoder's weights are in the provenance table");
      screenshot(browser, SCREENSHOT);
    } finally {
      browser.quit();
    }
    assertTrue(Files.size(SCREENSHOT) > 10_000, "screenshot " + SCREENSHOT.toAbsolutePath());

    // A second report replaces the first whole: nothing of the old one stays.
    Files.writeString(figures.resolve("stale.png"), "old");
    Result again = cli("report", "--run", run.toString(), "--heatmaps", "0");
    assertEquals(0, again.code(), again.err());
    assertFalse(Files.exists(figures.resolve("stale.png")));
    assertFalse(Files.exists(figures.resolve("run-slide-1-heatmap.png")));
    assertTrue(Files.exists(figures.resolve("run-roc.png")));
  }

  /**
   * A cross-validated layout (the run's outputs copied into {@code fold-0} and {@code fold-1}):
   * one section per fold, the mean ± sd of {@code cross_validation} in the headline.
   */
  @Test
  void aCrossValidatedRunGetsOneSectionPerFoldAndTheMeanOverFolds() throws Exception {
    Path cv = Files.createDirectories(tmp.resolve("cv"));
    ObjectNode config = (ObjectNode) new ObjectMapper().readTree(run.resolve(TrainStage.CONFIG)
        .toFile());
    ArrayNode splits = config.putArray("splits");
    for (int f = 0; f < 2; f++) {
      Path fold = Files.createDirectories(cv.resolve("fold-" + f));
      for (String file : List.of(TrainStage.PREDICTIONS, TrainStage.ATTENTION,
          TrainStage.HISTORY, TrainStage.RESULT)) {
        Files.copy(run.resolve(file), fold.resolve(file));
      }
      splits.addObject().put("name", "fold-" + f);
    }
    Files.writeString(cv.resolve(TrainStage.CONFIG), config.toString());
    Files.copy(run.resolve(TrainStage.SUMMARY), cv.resolve(TrainStage.SUMMARY));
    JsonNode m = evaluate(cv);
    Result r = cli("report", "--run", cv.toString(), "--heatmaps", "1", "--top-tiles", "1");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("2 section(s)"), r.out());
    Path figures = cv.resolve(ReportStage.REPORT_DIR).resolve(ReportStage.FIGURES);
    for (String f : List.of("fold-0-roc.png", "fold-1-loss.png", "fold-1-slide-1-heatmap.png")) {
      assertTrue(Files.exists(figures.resolve(f)), f);
    }
    JsonNode auc = m.path("cross_validation").path("test").path("auc");
    String expected = String.format(Locale.ROOT, "%.3f ± %s (2)", auc.path("mean").asDouble(),
        auc.path("sd").isNumber() ? String.format(Locale.ROOT, "%.3f", auc.path("sd")
            .asDouble()) : "n/a");
    String html = Files.readString(cv.resolve(ReportStage.REPORT_DIR).resolve(ReportStage.INDEX));
    assertTrue(html.contains("<td id=\"cv-auc\">" + expected + "</td>"), expected);
  }

  /** Headless Chromium through chromedriver; fails, never skips, when either is missing. */
  static ChromeDriver chromium() {
    if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
      fail("headless Chromium is needed at " + CHROMIUM + " and " + CHROMEDRIVER
          + ": apt-get install -y chromium chromium-driver");
    }
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu",
        "--disable-dev-shm-usage", "--window-size=1280,1000", "--hide-scrollbars");
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
    return new ChromeDriver(service, options);
  }

  /** The whole page, not only the window, through the DevTools screenshot command. */
  static void screenshot(ChromeDriver browser, Path file) throws Exception {
    Map<String, Object> layout = browser.executeCdpCommand("Page.getLayoutMetrics", Map.of());
    @SuppressWarnings("unchecked")
    Map<String, Object> size = (Map<String, Object>) layout.get("cssContentSize");
    Map<String, Object> shot = browser.executeCdpCommand("Page.captureScreenshot", Map.of(
        "format", "png", "captureBeyondViewport", true, "clip", Map.of("x", 0, "y", 0,
            "width", ((Number) size.get("width")).doubleValue(),
            "height", ((Number) size.get("height")).doubleValue(), "scale", 1)));
    Files.createDirectories(file.toAbsolutePath().getParent());
    Files.write(file, Base64.getDecoder().decode((String) shot.get("data")));
  }
}
