package org.tessera.spark.report;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumFileSystem;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.tessera.core.Errors;
import org.tessera.spark.embed.EmbedStage;
import org.tessera.spark.eval.EvaluateStage;
import org.tessera.spark.io.LocalTrees;
import org.tessera.spark.io.OutputLock;
import org.tessera.spark.io.SlideTable;
import org.tessera.spark.train.TrainStage;

/**
 * {@code tessera report}: {@code RUN/report/index.html} and {@code RUN/report/figures/*.png}
 * from a train run and the {@code metrics.json} that {@code tessera evaluate} wrote into it.
 *
 * <p>The page is assembled in a local temporary folder, copied to {@code RUN/report.tmp} and
 * renamed to {@code RUN/report} (an earlier report is moved aside first and removed after), so a
 * folder named {@code report} is always one finished report. Figure names depend only on the
 * run's layout and the slides drawn, never on time. A slide that cannot be read is listed on the
 * page instead of drawn; it does not stop the report.
 */
public final class ReportStage {
  public static final String REPORT_DIR = "report";
  public static final String INDEX = "index.html";
  public static final String FIGURES = "figures";
  /** The metrics of the headline table, in the order the page lists them. */
  static final List<String> HEADLINE = List.of("auc", "pr_auc", "accuracy", "sensitivity",
      "specificity", "f1", "kappa");
  private static final Map<String, String> METRIC_NAMES = names();

  private ReportStage() {}

  /**
   * @param run       a train run folder (the {@code --out} of {@code tessera train})
   * @param heatmaps  slides drawn with their attention, at most
   * @param topTiles  most attended tiles cut out per drawn slide
   * @param cacheDir  local folder for copies of slides kept on a non-local file system
   * @param reader    which implementation reads the slides' pixels
   */
  public record Settings(String run, int heatmaps, int topTiles, String cacheDir,
      org.tessera.wsi.ReaderKind reader) {
    /** Settings that read slides with {@code ReaderKind.AUTO}. */
    public Settings(String run, int heatmaps, int topTiles, String cacheDir) {
      this(run, heatmaps, topTiles, cacheDir, org.tessera.wsi.ReaderKind.AUTO);
    }

    public Settings {
      if (heatmaps < 0) {
        throw new IllegalArgumentException("--heatmaps " + heatmaps + " is negative: give 0 "
            + "for none or the number of slides to draw");
      }
      if (topTiles < 0) {
        throw new IllegalArgumentException("--top-tiles " + topTiles + " is negative: give 0 "
            + "for none or the number of tiles per slide");
      }
    }
  }

  /** What was written: the page, how many figures, slides drawn and slides that failed. */
  public record Summary(String report, int sections, int figures, int slidesDrawn,
      int slidesUnreadable, double seconds) {
    public String describe() {
      return String.format(Locale.ROOT, "report: %s (%d section(s), %d figures, %d slide(s) "
          + "drawn, %d unreadable) in %.1f s", report, sections, figures, slidesDrawn,
          slidesUnreadable, seconds);
    }
  }

  public static Summary run(SparkSession spark, Settings s, PrintStream console)
      throws IOException {
    long t0 = System.nanoTime();
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    Path runPath = new Path(s.run());
    FileSystem fs = runPath.getFileSystem(conf);
    Path runDir = fs.makeQualified(runPath);
    Path configFile = new Path(runDir, TrainStage.CONFIG);
    if (!fs.exists(configFile)) {
      throw new IllegalArgumentException(runDir + " has no " + TrainStage.CONFIG
          + ": point --run at the --out folder of tessera train");
    }
    Path metricsFile = new Path(runDir, EvaluateStage.METRICS);
    if (!fs.exists(metricsFile)) {
      throw new IllegalArgumentException(runDir + " has no " + EvaluateStage.METRICS
          + ": run tessera evaluate --run " + s.run() + " first");
    }
    try (OutputLock lock = OutputLock.acquire(conf, runDir, "report", console)) {
      return locked(spark, s, console, t0, conf, fs, runDir, configFile, metricsFile);
    }
  }

  /** The report once the run folder is locked. */
  private static Summary locked(SparkSession spark, Settings s, PrintStream console, long t0,
      Configuration conf, FileSystem fs, Path runDir, Path configFile, Path metricsFile)
      throws IOException {
    JsonNode config = RunPart.readJson(fs, configFile);
    JsonNode metrics = RunPart.readJson(fs, metricsFile);
    Map<String, Path> dirs = partDirs(fs, runDir);
    List<RunPart> parts = new ArrayList<>();
    for (Map.Entry<String, Path> e : dirs.entrySet()) {
      console.println("report: reading " + e.getValue());
      parts.add(RunPart.load(spark, conf, e.getKey(), e.getValue(),
          foldMetrics(metrics, metricsFile, e.getKey(), dirs.size())));
    }
    JsonNode manifest = manifest(fs, config);

    java.nio.file.Path local = Files.createTempDirectory("tessera-report-");
    try {
      java.nio.file.Path figures = Files.createDirectories(local.resolve(FIGURES));
      Page page = new Page(spark, conf, s, config, manifest, metrics, figures, console);
      String title = "Tessera report: " + runDir.getName();
      page.header(title, runDir);
      page.headline(parts);
      for (RunPart part : parts) {
        page.section(part, parts.size() > 1);
      }
      page.notDrawn();
      page.provenance(runDir);
      Files.writeString(local.resolve(INDEX), page.html.page(title), StandardCharsets.UTF_8);
      int figureCount;
      try (Stream<java.nio.file.Path> files = Files.list(figures)) {
        figureCount = (int) files.count();
      }
      Path report = publish(conf, local, runDir, REPORT_DIR);
      return new Summary(new Path(report, INDEX).toString(), parts.size(), figureCount,
          page.drawn, page.failures.size(), (System.nanoTime() - t0) / 1e9);
    } finally {
      LocalTrees.delete(local);
    }
  }

  /** The run folder itself, or its {@code fold-<i>} folders in fold order. */
  private static Map<String, Path> partDirs(FileSystem fs, Path runDir) throws IOException {
    Map<String, Path> parts = new LinkedHashMap<>();
    if (fs.exists(new Path(runDir, TrainStage.PREDICTIONS))) {
      parts.put("", runDir);
      return parts;
    }
    FileStatus[] folds = fs.globStatus(new Path(runDir, "fold-*"));
    if (folds != null) {
      Stream.of(folds).filter(FileStatus::isDirectory)
          .sorted(Comparator.comparingInt(f -> foldNumber(f.getPath().getName())))
          .forEach(f -> parts.put(f.getPath().getName(), f.getPath()));
    }
    if (parts.isEmpty()) {
      throw new IllegalArgumentException(runDir + " has neither " + TrainStage.PREDICTIONS
          + " nor fold-<i> folders: the train run has not finished; run tessera train first");
    }
    return parts;
  }

  private static int foldNumber(String name) {
    try {
      return Integer.parseInt(name.substring(name.indexOf('-') + 1));
    } catch (NumberFormatException e) {
      return Integer.MAX_VALUE;
    }
  }

  /**
   * A part's entry in {@code metrics.json}'s {@code folds}: by name for a fold, the only entry
   * for a run without folds.
   */
  private static JsonNode foldMetrics(JsonNode metrics, Path file, String name, int parts) {
    JsonNode folds = metrics.path("folds");
    if (!folds.isArray() || folds.isEmpty()) {
      throw new IllegalArgumentException(file + " has no folds: run tessera evaluate --run "
          + file.getParent() + " again");
    }
    if (name.isEmpty() && parts == 1 && folds.size() == 1) {
      return folds.get(0);
    }
    for (JsonNode f : folds) {
      if (f.path("name").asText().equals(name)) {
        return f;
      }
    }
    throw new IllegalArgumentException(file + " has no fold named '" + name + "' although the "
        + "run has one: it is older than the run; run tessera evaluate --run " + file.getParent()
        + " again");
  }

  /**
   * The features' {@code manifest.json} as it is now, or the copy {@code train} recorded in
   * {@code config.json} when the features folder is gone.
   */
  private static JsonNode manifest(FileSystem fs, JsonNode config) throws IOException {
    String features = config.path("features").asText("");
    if (!features.isEmpty()) {
      Path file = new Path(features, EmbedStage.MANIFEST);
      FileSystem ffs = file.getFileSystem(fs.getConf());
      if (ffs.exists(file)) {
        return RunPart.readJson(ffs, file);
      }
    }
    return config.path("features_manifest");
  }

  /**
   * Copies the finished page to {@code RUN/<dirName>.tmp} and swaps it in for
   * {@code RUN/<dirName>}.
   * On a local disk the raw file system is used, so no checksum files land beside the page.
   */
  static Path publish(Configuration conf, java.nio.file.Path local, Path runDir,
      String dirName)
      throws IOException {
    FileSystem fs = runDir.getFileSystem(conf);
    if (fs instanceof ChecksumFileSystem c) {
      fs = c.getRawFileSystem();
    }
    Path tmp = new Path(runDir, dirName + ".tmp");
    Path old = new Path(runDir, dirName + ".old");
    Path dest = new Path(runDir, dirName);
    fs.delete(tmp, true);
    fs.delete(old, true);
    fs.copyFromLocalFile(false, true, new Path(local.toUri()), tmp);
    if (fs.exists(dest) && !fs.rename(dest, old)) {
      throw new IOException("could not move the earlier report " + dest + " aside to " + old
          + ": check permissions on " + runDir);
    }
    if (!fs.rename(tmp, dest)) {
      throw new IOException("could not rename " + tmp + " to " + dest
          + ": check permissions on " + runDir);
    }
    fs.delete(old, true);
    return dest;
  }

  /** The page under construction and the counters the summary reports. */
  private static final class Page {
    final SparkSession spark;
    final Configuration conf;
    final Settings s;
    final JsonNode config;
    final JsonNode manifest;
    final JsonNode metrics;
    final java.nio.file.Path figures;
    final PrintStream console;
    final List<String> classes = new ArrayList<>();
    final Html html = new Html();
    /** Slides that could not be drawn: "slide (section): reason". */
    final List<String> failures = new ArrayList<>();
    int drawn;

    Page(SparkSession spark, Configuration conf, Settings s, JsonNode config, JsonNode manifest,
        JsonNode metrics, java.nio.file.Path figures, PrintStream console) {
      this.spark = spark;
      this.conf = conf;
      this.s = s;
      this.config = config;
      this.manifest = manifest;
      this.metrics = metrics;
      this.figures = figures;
      this.console = console;
      config.path("classes").forEach(c -> classes.add(c.asText()));
    }

    String model() {
      return config.path("model").path("model").asText("unknown");
    }

    String encoder() {
      return manifest.path("encoder").path("name").asText("unknown");
    }

    void header(String title, Path runDir) {
      html.tag("h1", title);
      String positive = metrics.path("positive_class").asText("");
      html.raw("<p class=\"meta\">Run " + Html.esc(runDir.toString()) + " · model <b>"
          + Html.esc(model()) + "</b> · encoder <b>" + Html.esc(encoder()) + "</b> · classes "
          + Html.esc(String.join(", ", classes))
          + (positive.isEmpty() ? "" : " (positive: " + Html.esc(positive) + ")")
          + " · generated " + Instant.now().truncatedTo(ChronoUnit.SECONDS) + "</p>\n");
    }

    /**
     * The numbers a reader looks for first. A run without folds: the headline split's metrics
     * with their 95% intervals. A cross-validated run: the mean ± sd over folds, then each
     * fold's own value. Each value cell has an id ({@code headline-auc}, {@code cv-auc}) so the
     * page can be checked against {@code metrics.json}.
     */
    void headline(List<RunPart> parts) {
      html.tag("h2", "Headline");
      if (parts.size() == 1) {
        RunPart part = parts.get(0);
        String split = part.headlineSplit();
        JsonNode sm = part.split(split);
        List<List<String>> rows = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        for (String m : HEADLINE) {
          JsonNode e = sm.path("metrics").path(m);
          rows.add(List.of(METRIC_NAMES.get(m), Values.fmt(Values.value(e)), Values.ci(e)));
          ids.add("headline-" + m);
        }
        html.table(List.of("metric", split + " (n=" + sm.path("n").asText("?") + ")",
            "95% CI"), rows, ids);
      } else {
        JsonNode cv = metrics.path("cross_validation").path("test");
        List<String> header = new ArrayList<>(List.of("metric", "mean ± sd (folds)"));
        parts.forEach(p -> header.add(p.name + " (n=" + p.split(p.headlineSplit()).path("n")
            .asText("?") + ")"));
        List<List<String>> rows = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        for (String m : HEADLINE) {
          JsonNode c = cv.path(m);
          List<String> row = new ArrayList<>(List.of(METRIC_NAMES.get(m), c.isObject()
              ? Values.fmt(Values.number(c.path("mean"))) + " ± "
                  + Values.fmt(Values.number(c.path("sd"))) + " (" + c.path("n").asText("?")
                  + ")" : "n/a"));
          for (RunPart p : parts) {
            row.add(Values.withCi(p.split(p.headlineSplit()).path("metrics").path(m)));
          }
          rows.add(row);
          ids.add("cv-" + m);
        }
        html.table(header, rows, ids);
        html.raw("<p class=\"meta\">Mean and sample standard deviation of the test metrics "
            + "over folds; each fold's value with its 95% confidence interval.</p>\n");
      }
      double threshold = parts.get(0).threshold();
      if (parts.size() == 1 && Double.isFinite(threshold)) {
        JsonNode t = parts.get(0).metrics.path("threshold");
        html.raw("<p class=\"meta\">Decision threshold " + Values.fmt(threshold) + " on P("
            + Html.esc(metrics.path("positive_class").asText("positive")) + "), chosen by "
            + Html.esc(t.path("method").asText("?")) + " on the "
            + Html.esc(t.path("chosen_on").asText("?")) + " split. Intervals: 95% bootstrap "
            + "percentile intervals over " + Html.esc(metrics.path("bootstrap").asText("?"))
            + " replicates (seed " + Html.esc(metrics.path("seed").asText("?")) + ").</p>\n");
      }
      JsonNode loc = metrics.path("localisation");
      if (loc.isObject()) {
        html.raw("<p class=\"meta\">Tile-level localisation AUC <b id=\"localisation-auc\">"
            + Values.fmt(Values.number(loc.path("auc"))) + "</b> over "
            + Html.esc(loc.path("tiles").asText("?")) + " tiles of "
            + Html.esc(loc.path("slides").asText("?")) + " " + Html.esc(loc.path("split")
            .asText("")) + " slides (attention against the lesion masks in "
            + Html.esc(loc.path("masks").asText("?")) + ").</p>\n");
      }
    }

    void section(RunPart part, boolean folds) throws IOException {
      String prefix = folds ? part.name : "run";
      html.tag("h2", folds ? "Fold " + part.name : "Results");
      html.raw("<div class=\"figs\">\n");
      curves(part, prefix);
      epochs(part, prefix);
      String split = part.headlineSplit();
      JsonNode confusion = part.split(split).path("confusion");
      if (confusion.isArray() && confusion.size() == classes.size()) {
        String file = prefix + "-confusion.png";
        Charts.confusion(figures.resolve(file), "Confusion matrix (" + split + ")", classes,
            confusion);
        html.img(FIGURES + "/" + file, "confusion matrix");
      }
      html.raw("</div>\n");
      metricsTable(part);
      heatmaps(part, prefix);
      history(part);
    }

    /**
     * ROC and PR curves: the headline split solid, validation dashed beside it, and the
     * operating point of the chosen threshold on the headline split.
     */
    private void curves(RunPart part, String prefix) throws IOException {
      String main = part.headlineSplit();
      List<String> splits = main.equals("test") ? List.of("test", "val") : List.of(main);
      JsonNode mm = part.split(main).path("metrics");
      double sensitivity = Values.value(mm.path("sensitivity"));
      double specificity = Values.value(mm.path("specificity"));
      double precision = Values.value(mm.path("precision"));
      String at = "operating point, threshold " + Values.fmt(part.threshold());
      for (String kind : List.of("roc", "pr")) {
        List<Charts.Curve> curves = new ArrayList<>();
        for (String split : splits) {
          JsonNode c = part.split(split).path(kind);
          if (c.path("x").isArray() && c.path("x").size() > 0) {
            String metric = kind.equals("roc") ? "auc" : "pr_auc";
            curves.add(new Charts.Curve(split + " (" + METRIC_NAMES.get(metric) + " "
                + Values.fmt(Values.value(part.split(split).path("metrics").path(metric)))
                + ")", Values.array(c.path("x")), Values.array(c.path("y")),
                split.equals(main)));
          }
        }
        if (curves.isEmpty()) {
          continue;
        }
        String file = prefix + "-" + kind + ".png";
        if (kind.equals("roc")) {
          Charts.curves(figures.resolve(file), "ROC curve (" + main + ")", "False positive "
              + "rate (1 - specificity)", "True positive rate (sensitivity)", curves,
              new Charts.Point(at, 1 - specificity, sensitivity), true);
        } else {
          Charts.curves(figures.resolve(file), "Precision-recall curve (" + main + ")",
              "Recall (sensitivity)", "Precision", curves,
              new Charts.Point(at, sensitivity, precision), false);
        }
        html.img(FIGURES + "/" + file, kind.equals("roc") ? "ROC curve" : "PR curve");
      }
    }

    /** Loss and AUC per epoch, train against validation, the best epoch marked. */
    private void epochs(RunPart part, String prefix) throws IOException {
      if (part.history.isEmpty()) {
        return;
      }
      int n = part.history.size();
      double[] epoch = new double[n];
      Map<String, double[]> v = new LinkedHashMap<>();
      for (String k : List.of("running", "train.loss", "val.loss", "train.auc", "val.auc")) {
        v.put(k, new double[n]);
      }
      int best = 0;
      for (int i = 0; i < n; i++) {
        JsonNode h = part.history.get(i);
        epoch[i] = h.path("epoch").asInt() + 1;
        v.get("running")[i] = Values.number(h.path("train_loss"));
        v.get("train.loss")[i] = Values.number(h.path("train").path("loss"));
        v.get("val.loss")[i] = Values.number(h.path("val").path("loss"));
        v.get("train.auc")[i] = Values.number(h.path("train").path("auc"));
        v.get("val.auc")[i] = Values.number(h.path("val").path("auc"));
        if (h.path("best").asBoolean()) {
          best = (int) epoch[i];
        }
      }
      String loss = prefix + "-loss.png";
      Charts.perEpoch(figures.resolve(loss), "Loss per epoch", "Loss", List.of(
          new Charts.Curve("train", epoch, v.get("train.loss"), true),
          new Charts.Curve("validation", epoch, v.get("val.loss"), true),
          new Charts.Curve("train, running mean during the epoch", epoch, v.get("running"),
              false)), best);
      html.img(FIGURES + "/" + loss, "loss per epoch");
      String auc = prefix + "-auc.png";
      Charts.perEpoch(figures.resolve(auc), "AUC per epoch", "ROC AUC", List.of(
          new Charts.Curve("train", epoch, v.get("train.auc"), true),
          new Charts.Curve("validation", epoch, v.get("val.auc"), true)), best);
      html.img(FIGURES + "/" + auc, "AUC per epoch");
    }

    private void metricsTable(RunPart part) {
      List<String> splits = new ArrayList<>();
      for (String split : List.of("train", "val", "test")) {
        if (part.hasSplit(split)) {
          splits.add(split);
        }
      }
      List<String> header = new ArrayList<>(List.of("metric"));
      splits.forEach(sp -> header.add(sp + " (n=" + part.split(sp).path("n").asText("?") + ")"));
      List<List<String>> rows = new ArrayList<>();
      for (Map.Entry<String, String> m : METRIC_NAMES.entrySet()) {
        List<String> row = new ArrayList<>(List.of(m.getValue()));
        for (String sp : splits) {
          row.add(Values.withCi(part.split(sp).path("metrics").path(m.getKey())));
        }
        rows.add(row);
      }
      html.tag("h3", "Metrics by split");
      html.table(header, rows);
      if (classes.size() > 2) {
        perClass(part, part.headlineSplit());
      }
    }

    private void perClass(RunPart part, String split) {
      JsonNode pc = part.split(split).path("per_class");
      if (!pc.isObject()) {
        return;
      }
      List<String> keys = List.of("auc", "sensitivity", "specificity", "precision", "f1",
          "support");
      List<List<String>> rows = new ArrayList<>();
      for (String c : classes) {
        List<String> row = new ArrayList<>(List.of(c));
        for (String k : keys) {
          double v = Values.number(pc.path(c).path(k));
          row.add(k.equals("support") && Double.isFinite(v) ? String.valueOf((long) v)
              : Values.fmt(v));
        }
        rows.add(row);
      }
      html.tag("h3", "Per class, one against the rest (" + split + ")");
      html.table(List.of("class", "AUC", "sensitivity", "specificity", "precision", "F1",
          "slides"), rows);
    }

    /**
     * Up to {@code --heatmaps} slides of the headline split (every split when it has none): the
     * positives the model is surest of, and about a third negatives, those it found most
     * positive-looking, so what the model finds and what misleads it are both on the page.
     */
    private void heatmaps(RunPart part, String prefix) throws IOException {
      if (s.heatmaps() == 0 || classes.isEmpty()) {
        return;
      }
      String split = part.headlineSplit();
      List<RunPart.Prediction> pool = part.predictions.stream()
          .filter(p -> p.split().equals(split)).toList();
      if (pool.isEmpty()) {
        pool = part.predictions;
      }
      List<RunPart.Prediction> chosen = choose(pool, s.heatmaps());
      if (chosen.isEmpty()) {
        return;
      }
      html.tag("h3", "Attention heatmaps (" + split + " slides)");
      html.raw("<p class=\"meta\">Each tile is coloured by the percentile of its attention "
          + "within its slide (colour bar at the right); red boxes number the most attended "
          + "tiles, shown below each map.</p>\n");
      List<String> ids = chosen.stream().map(RunPart.Prediction::slideId).toList();
      Map<String, Heatmaps.SlideInfo> slides = new HashMap<>();
      String slidesProblem = slideInfos(ids, slides);
      Map<String, Heatmaps.Attention> attention = attention(part, ids);
      for (int i = 0; i < chosen.size(); i++) {
        RunPart.Prediction p = chosen.get(i);
        html.raw("<div class=\"slide\">\n");
        html.raw("<h4>" + Html.esc(p.slideId()) + " — true " + Html.esc(p.label())
            + ", predicted " + Html.esc(p.predicted()) + " (" + Html.esc(probabilities(p))
            + ")</h4>\n");
        Heatmaps.SlideInfo info = slides.get(p.slideId());
        Heatmaps.Attention att = attention.get(p.slideId());
        String problem = info == null
            ? (slidesProblem != null ? slidesProblem : "not in the tile index's slide table")
            : att == null ? "no rows in " + TrainStage.ATTENTION : null;
        if (problem == null) {
          try {
            String name = prefix + "-slide-" + (i + 1);
            Heatmaps.Drawn d = Heatmaps.draw(conf, s.cacheDir(), s.reader(), info, att,
                p.slideId() + " (" + att.map() + ")", figures, name, s.topTiles());
            html.img(FIGURES + "/" + d.heatmap(), "attention heatmap of " + p.slideId());
            html.raw("<div class=\"tiles\">\n");
            for (int k = 0; k < d.tiles().size(); k++) {
              Heatmaps.TileImage t = d.tiles().get(k);
              html.raw("<figure><img src=\"" + Html.esc(FIGURES + "/" + t.file()) + "\" alt=\""
                  + "top tile " + (k + 1) + " of " + Html.esc(p.slideId()) + "\"><figcaption>#"
                  + (k + 1) + " at (" + t.x() + ", " + t.y() + ")<br>attention "
                  + String.format(Locale.ROOT, "%.4g", t.attention()) + ", percentile "
                  + Values.fmt(t.percentile()) + "</figcaption></figure>\n");
            }
            html.raw("</div>\n");
            drawn++;
          } catch (IOException | RuntimeException | UnsatisfiedLinkError e) {
            problem = Errors.oneLine(e);
          }
        }
        if (problem != null) {
          String where = prefix.equals("run") ? "" : " (" + prefix + ")";
          failures.add(p.slideId() + where + ": " + problem);
          console.println("report: slide " + p.slideId() + where + " not drawn: " + problem);
          html.raw("<p class=\"placeholder\">Slide " + Html.esc(p.slideId())
              + " could not be drawn: " + Html.esc(problem) + "</p>\n");
        }
        html.raw("</div>\n");
      }
    }

    /** The heatmap slides: positives by their class probability, a third negatives. */
    static List<RunPart.Prediction> choose(List<RunPart.Prediction> pool, int n) {
      Comparator<RunPart.Prediction> byId = Comparator.comparing(RunPart.Prediction::slideId);
      List<RunPart.Prediction> positives = pool.stream().filter(p -> p.labelIndex() != 0)
          .sorted(Comparator.comparingDouble((RunPart.Prediction p) ->
              -p.probabilities()[p.labelIndex()]).thenComparing(byId)).toList();
      List<RunPart.Prediction> negatives = pool.stream().filter(p -> p.labelIndex() == 0)
          .sorted(Comparator.comparingDouble((RunPart.Prediction p) -> p.probabilities()[0])
              .thenComparing(byId)).toList();
      int wantNegatives = n < 2 ? 0 : Math.max(1, n / 3);
      int takeNegatives = Math.min(negatives.size(),
          Math.max(wantNegatives, n - positives.size()));
      int takePositives = Math.min(positives.size(), n - takeNegatives);
      List<RunPart.Prediction> chosen = new ArrayList<>(positives.subList(0, takePositives));
      chosen.addAll(negatives.subList(0, takeNegatives));
      return chosen;
    }

    private String probabilities(RunPart.Prediction p) {
      List<String> parts = new ArrayList<>();
      for (int c = 0; c < Math.min(classes.size(), p.probabilities().length); c++) {
        parts.add("P(" + classes.get(c) + ") " + Values.fmt(p.probabilities()[c]));
      }
      return String.join(", ", parts);
    }

    /** Fills {@code out} from the tile index; returns why it could not be read, or null. */
    private String slideInfos(List<String> ids, Map<String, Heatmaps.SlideInfo> out) {
      return Heatmaps.slideInfos(spark, conf, manifest.path("tiles").asText(""), ids, out);
    }

    private Map<String, Heatmaps.Attention> attention(RunPart part, List<String> ids) {
      Map<String, String> predicted = new HashMap<>();
      part.predictions.forEach(p -> predicted.put(p.slideId(), p.predicted()));
      return Heatmaps.attention(spark, new Path(part.dir, TrainStage.ATTENTION), ids, predicted);
    }

    private void history(RunPart part) {
      if (part.history.isEmpty()) {
        return;
      }
      List<List<String>> rows = new ArrayList<>();
      for (JsonNode h : part.history) {
        rows.add(List.of(String.valueOf(h.path("epoch").asInt() + 1),
            h.path("global_step").asText(),
            String.format(Locale.ROOT, "%.3g", Values.number(h.path("learning_rate"))),
            Values.fmt(Values.number(h.path("train_loss"))),
            Values.fmt(Values.number(h.path("train").path("loss"))),
            Values.fmt(Values.number(h.path("train").path("accuracy"))),
            Values.fmt(Values.number(h.path("train").path("auc"))),
            Values.fmt(Values.number(h.path("val").path("loss"))),
            Values.fmt(Values.number(h.path("val").path("accuracy"))),
            Values.fmt(Values.number(h.path("val").path("auc"))),
            h.path("best").asBoolean() ? "best so far" : ""));
      }
      html.raw("<details><summary>Training history, epoch by epoch</summary>\n");
      html.table(List.of("epoch", "step", "learning rate", "running loss", "train loss",
          "train accuracy", "train AUC", "val loss", "val accuracy", "val AUC", ""), rows);
      html.raw("</details>\n");
    }

    /** Every slide that could not be drawn, in one list, so none goes unnoticed. */
    void notDrawn() {
      if (failures.isEmpty()) {
        return;
      }
      html.tag("h2", "Slides not drawn");
      html.raw("<ul id=\"not-drawn\">\n");
      failures.forEach(f -> html.raw("<li>" + Html.esc(f) + "</li>\n"));
      html.raw("</ul>\n");
    }

    void provenance(Path runDir) throws IOException {
      html.tag("h2", "Configuration and provenance");
      JsonNode st = config.path("settings");
      List<List<String>> run = new ArrayList<>();
      run.add(List.of("run folder", runDir.toString()));
      run.add(List.of("labels", config.path("labels_file").asText("") + " ("
          + config.path("labels").size() + " slides)"));
      run.add(List.of("classes", String.join(", ", classes)));
      for (String k : List.of("seed", "workers", "folds", "val_fraction", "bags_per_step")) {
        run.add(List.of(k, st.path(k).asText("")));
      }
      flatten("loop", st.path("loop"), run);
      for (JsonNode sp : config.path("splits")) {
        run.add(List.of("split " + sp.path("name").asText(), "train "
            + sp.path("train").size() + ", val " + sp.path("val").size() + ", test "
            + sp.path("test").size() + " slides"));
      }
      html.tag("h3", "Run");
      html.table(List.of("setting", "value"), run);

      List<List<String>> model = new ArrayList<>();
      flatten("", config.path("model"), model);
      flatten("optimizer", config.path("optimizer"), model);
      html.tag("h3", "Model and optimizer");
      html.table(List.of("setting", "value"), model);

      List<List<String>> features = new ArrayList<>();
      features.add(List.of("features", config.path("features").asText("")));
      features.add(List.of("tile index", manifest.path("tiles").asText("")));
      flatten("encoder", manifest.path("encoder"), features);
      features.add(List.of("preprocessing", manifest.path("preprocessing").asText("")));
      flatten("tiles", manifest.path("tile_params"), features);
      manifest.fields().forEachRemaining(e -> {
        if (!List.of("encoder", "preprocessing", "tiles", "tile_params").contains(e.getKey())) {
          flatten(e.getKey(), e.getValue(), features);
        }
      });
      html.tag("h3", "Features (" + EmbedStage.MANIFEST + ")");
      html.table(List.of("setting", "value"), features);
      html.raw("<details><summary>" + TrainStage.CONFIG + "</summary><pre>"
          + Html.esc(RunPart.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(config))
          + "</pre></details>\n");
    }

    /** One row per leaf of {@code n}, named by its dotted path under {@code prefix}. */
    private static void flatten(String prefix, JsonNode n, List<List<String>> rows) {
      if (n.isObject()) {
        n.fields().forEachRemaining(e -> flatten(prefix.isEmpty() ? e.getKey()
            : prefix + "." + e.getKey(), e.getValue(), rows));
      } else if (!n.isMissingNode()) {
        rows.add(List.of(prefix, n.isNull() ? "" : n.isValueNode() ? n.asText() : n.toString()));
      }
    }
  }

  private static Map<String, String> names() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("auc", "AUC");
    m.put("pr_auc", "PR AUC");
    m.put("accuracy", "Accuracy");
    m.put("balanced_accuracy", "Balanced accuracy");
    m.put("sensitivity", "Sensitivity");
    m.put("specificity", "Specificity");
    m.put("precision", "Precision");
    m.put("f1", "F1");
    m.put("kappa", "Cohen's kappa");
    return m;
  }
}
