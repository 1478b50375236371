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
import org.tessera.spark.io.SlideTable;
import org.tessera.spark.train.TrainStage;

/**
 * {@code tessera report}: {@code RUN/report/index.html} and {@code RUN/report/figures/*.png}
 * from a train run and, when present, the metrics {@code evaluate} wrote beside it.
 *
 * <p>The page is assembled in a local temporary folder, copied to {@code RUN/report.tmp} and
 * renamed to {@code RUN/report}, so a folder named {@code report} is always a finished report.
 * Without {@code metrics.json} the page says so and shows everything else (training curves,
 * heatmaps, configuration): the report of a run still being evaluated is still useful.
 */
public final class ReportStage {
  public static final String REPORT_DIR = "report";
  public static final String INDEX = "index.html";
  public static final String FIGURES = "figures";
  private static final String[] HEADLINE = {
    "auc", "accuracy", "sensitivity", "specificity", "f1"};
  private static final Map<String, String> METRIC_NAMES = names();

  private ReportStage() {}

  /**
   * @param run       a train run folder (the {@code --out} of {@code tessera train})
   * @param heatmaps  slides drawn with their attention, at most
   * @param topTiles  most attended tiles cut out per drawn slide
   * @param cacheDir  local folder for copies of slides kept on a non-local file system
   */
  public record Settings(String run, int heatmaps, int topTiles, String cacheDir) {
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

  /** What was written. */
  public record Summary(String report, int sections, int figures, int slidesDrawn,
      int slidesUnreadable, boolean metrics, double seconds) {
    public String describe() {
      return String.format(java.util.Locale.ROOT, "report: %s (%d section(s), %d figures, %d "
          + "slide(s) drawn, %d unreadable%s) in %.1f s", report, sections, figures, slidesDrawn,
          slidesUnreadable, metrics ? "" : "; no metrics.json: run tessera evaluate", seconds);
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
    JsonNode config = RunPart.readJson(fs, configFile);
    List<RunPart> parts = new ArrayList<>();
    for (Map.Entry<String, Path> e : partDirs(fs, runDir).entrySet()) {
      console.println("report: reading " + e.getValue());
      parts.add(RunPart.load(spark, conf, e.getKey(), e.getValue()));
    }
    Path runMetricsFile = new Path(runDir, RunPart.METRICS);
    JsonNode runMetrics = parts.size() > 1 && fs.exists(runMetricsFile)
        ? RunPart.readJson(fs, runMetricsFile) : null;

    java.nio.file.Path local = Files.createTempDirectory("tessera-report-");
    try {
      java.nio.file.Path figures = Files.createDirectories(local.resolve(FIGURES));
      Page page = new Page(spark, conf, s, config, figures, console);
      String title = "Tessera report: " + runDir.getName();
      page.header(title, runDir, parts);
      if (parts.size() > 1) {
        page.crossValidation(parts, runMetrics);
      }
      for (RunPart part : parts) {
        page.section(part, parts.size() > 1);
      }
      page.provenance(runDir);
      Files.writeString(local.resolve(INDEX), page.html.page(title), StandardCharsets.UTF_8);
      int figureCount;
      try (Stream<java.nio.file.Path> files = Files.list(figures)) {
        figureCount = (int) files.count();
      }
      Path report = publish(conf, local, runDir);
      boolean metrics = parts.stream().allMatch(p -> p.metrics != null);
      return new Summary(new Path(report, INDEX).toString(), parts.size(), figureCount,
          page.drawn, page.unreadable, metrics, (System.nanoTime() - t0) / 1e9);
    } finally {
      try (Stream<java.nio.file.Path> walk = Files.walk(local)) {
        for (java.nio.file.Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  /** The run folder itself, or its {@code fold-<i>} folders in fold order. */
  private static Map<String, Path> partDirs(FileSystem fs, Path runDir) throws IOException {
    Map<String, Path> parts = new LinkedHashMap<>();
    if (fs.exists(new Path(runDir, TrainStage.HISTORY))
        || fs.exists(new Path(runDir, TrainStage.PREDICTIONS))) {
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
      throw new IllegalArgumentException(runDir + " has neither " + TrainStage.HISTORY
          + " nor fold-<i> folders: the train run has not started; run tessera train first");
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
   * Copies the finished page to {@code RUN/report.tmp} and renames it to {@code RUN/report}.
   * On a local disk the raw file system is used, so no checksum files land beside the page.
   */
  private static Path publish(Configuration conf, java.nio.file.Path local, Path runDir)
      throws IOException {
    FileSystem fs = runDir.getFileSystem(conf);
    if (fs instanceof ChecksumFileSystem c) {
      fs = c.getRawFileSystem();
    }
    Path tmp = new Path(runDir, REPORT_DIR + ".tmp");
    Path dest = new Path(runDir, REPORT_DIR);
    fs.delete(tmp, true);
    fs.copyFromLocalFile(false, true, new Path(local.toUri()), tmp);
    fs.delete(dest, true);
    if (!fs.rename(tmp, dest)) {
      throw new IOException("could not rename " + tmp + " to " + dest
          + ": check permissions on " + runDir);
    }
    return dest;
  }

  /** The page under construction and the counters the summary reports. */
  private static final class Page {
    final SparkSession spark;
    final Configuration conf;
    final Settings s;
    final JsonNode config;
    final java.nio.file.Path figures;
    final PrintStream console;
    final List<String> classes = new ArrayList<>();
    final Html html = new Html();
    int drawn;
    int unreadable;

    Page(SparkSession spark, Configuration conf, Settings s, JsonNode config,
        java.nio.file.Path figures, PrintStream console) {
      this.spark = spark;
      this.conf = conf;
      this.s = s;
      this.config = config;
      this.figures = figures;
      this.console = console;
      config.path("classes").forEach(c -> classes.add(c.asText()));
    }

    String model() {
      return config.path("model").path("model").asText("unknown");
    }

    String encoder() {
      return config.path("features_manifest").path("encoder").path("name").asText("unknown");
    }

    void header(String title, Path runDir, List<RunPart> parts) {
      html.tag("h1", title);
      html.raw("<p class=\"meta\">Run " + Html.esc(runDir.toString()) + " · model <b>"
          + Html.esc(model()) + "</b> · encoder <b>" + Html.esc(encoder()) + "</b> · classes "
          + Html.esc(String.join(", ", classes)) + " · generated "
          + Instant.now().truncatedTo(ChronoUnit.SECONDS) + "</p>\n");
      if (parts.stream().anyMatch(p -> p.metrics == null)) {
        html.note("No metrics.json for " + (parts.size() > 1 ? "some folds" : "this run")
            + ": run `tessera evaluate --run " + runDir + "` for the headline numbers, ROC and "
            + "PR curves and the confusion matrix, then this report again. Training curves, "
            + "heatmaps and the configuration follow.");
      }
    }

    void crossValidation(List<RunPart> parts, JsonNode runMetrics) {
      html.tag("h2", "Cross-validation");
      List<String> header = new ArrayList<>(List.of("fold", "split", "slides"));
      for (String m : HEADLINE) {
        header.add(METRIC_NAMES.get(m));
      }
      List<List<String>> rows = new ArrayList<>();
      for (RunPart p : parts) {
        String split = p.headlineSplit();
        JsonNode sm = p.split(split);
        List<String> row = new ArrayList<>(List.of(p.name, split,
            sm.has("n") ? sm.path("n").asText() : "n/a"));
        for (String m : HEADLINE) {
          row.add(Values.withCi(sm.path("metrics").path(m)));
        }
        rows.add(row);
      }
      html.table(header, rows);
      JsonNode cv = runMetrics == null ? null : runMetrics.path("cross_validation");
      if (cv != null && cv.isObject() && cv.size() > 0) {
        List<List<String>> summary = new ArrayList<>();
        cv.fields().forEachRemaining(e -> summary.add(List.of(e.getKey(),
            Values.fmt(Values.number(e.getValue().path("mean"))),
            Values.fmt(Values.number(e.getValue().path("sd"))),
            e.getValue().path("n").asText("n/a"))));
        html.table(List.of("metric", "mean", "sd", "folds"), summary);
      }
    }

    void section(RunPart part, boolean folds) throws IOException {
      String prefix = folds ? part.name : "run";
      html.tag("h2", folds ? "Fold " + part.name : "Results");
      headline(part);
      html.raw("<div class=\"figs\">\n");
      curves(part, prefix);
      epochs(part, prefix);
      JsonNode confusion = part.split(part.headlineSplit()).path("confusion");
      if (confusion.isArray() && confusion.size() == classes.size()) {
        String file = prefix + "-confusion.png";
        Charts.confusion(figures.resolve(file), "Confusion matrix (" + part.headlineSplit()
            + ")", classes, confusion);
        html.img(FIGURES + "/" + file, "confusion matrix");
      }
      html.raw("</div>\n");
      metricsTable(part);
      heatmaps(part, prefix);
      history(part);
    }

    private void headline(RunPart part) {
      if (part.metrics == null) {
        html.note("No metrics.json in " + part.dir + ": run `tessera evaluate --run "
            + part.dir + "`.");
        return;
      }
      String split = part.headlineSplit();
      JsonNode sm = part.split(split);
      JsonNode m = sm.path("metrics");
      html.raw("<div class=\"headline\" id=\"headline-" + Html.esc(prefixId(part)) + "\">\n");
      card(cap(split) + " AUC", Values.withCi(m.path("auc")));
      for (String k : List.of("accuracy", "sensitivity", "specificity", "f1")) {
        card(METRIC_NAMES.get(k), Values.withCi(m.path(k)));
      }
      card(cap(split) + " slides", sm.has("n") ? sm.path("n").asText() : "n/a");
      card("Model", model());
      card("Encoder", encoder());
      html.raw("</div>\n");
      JsonNode threshold = part.metrics.path("threshold");
      if (threshold.isObject()) {
        html.raw("<p class=\"meta\">Decision threshold " + Values.fmt(Values.number(
            threshold.path("value"))) + " (" + Html.esc(threshold.path("method").asText("?"))
            + "); intervals are 95% confidence intervals.</p>\n");
      }
      JsonNode loc = part.metrics.path("localisation");
      if (loc.isObject()) {
        html.raw("<p class=\"meta\">Tile-level localisation AUC " + Values.fmt(Values.number(
            loc.path("auc"))) + " over " + Html.esc(loc.path("tiles").asText("?")) + " tiles of "
            + Html.esc(loc.path("slides").asText("?")) + " slides.</p>\n");
      }
    }

    private static String prefixId(RunPart part) {
      return part.name.isEmpty() ? "run" : part.name;
    }

    private void card(String label, String value) {
      html.raw("<div>" + Html.esc(label) + "<b>" + Html.esc(value) + "</b></div>\n");
    }

    /** ROC and PR: the headline split solid, validation dashed beside it. */
    private void curves(RunPart part, String prefix) throws IOException {
      String main = part.headlineSplit();
      List<String> splits = main.equals("test") ? List.of("test", "val") : List.of(main);
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
          Charts.curves(figures.resolve(file), "ROC curve", "False positive rate (1 - "
              + "specificity)", "True positive rate (sensitivity)", curves, true);
        } else {
          Charts.curves(figures.resolve(file), "Precision-recall curve", "Recall (sensitivity)",
              "Precision", curves, false);
        }
        html.img(FIGURES + "/" + file, kind.equals("roc") ? "ROC curve" : "PR curve");
      }
    }

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
        v.get("running")[i] = Values.number(h.path("trainLoss"));
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
          new Charts.Curve("train (running, during the epoch)", epoch, v.get("running"), false)),
          best);
      html.img(FIGURES + "/" + loss, "loss per epoch");
      String auc = prefix + "-auc.png";
      Charts.perEpoch(figures.resolve(auc), "AUC per epoch", "ROC AUC", List.of(
          new Charts.Curve("train", epoch, v.get("train.auc"), true),
          new Charts.Curve("validation", epoch, v.get("val.auc"), true)), best);
      html.img(FIGURES + "/" + auc, "AUC per epoch");
    }

    private void metricsTable(RunPart part) {
      if (part.metrics == null) {
        return;
      }
      List<String> splits = new ArrayList<>();
      for (String split : List.of("train", "val", "test")) {
        if (!part.split(split).isMissingNode()) {
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
    }

    /**
     * Up to {@code --heatmaps} slides of the headline split: the positives the model is surest
     * of and the negatives it is least sure of, half each, so both what it finds and what
     * misleads it are on the page.
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
      List<RunPart.Prediction> positives = pool.stream().filter(p -> p.labelIndex() != 0)
          .sorted(Comparator.comparingDouble(p -> -p.probabilities()[p.labelIndex()])).toList();
      List<RunPart.Prediction> negatives = pool.stream().filter(p -> p.labelIndex() == 0)
          .sorted(Comparator.comparingDouble(p -> p.probabilities()[0])).toList();
      List<RunPart.Prediction> chosen = new ArrayList<>();
      int half = (s.heatmaps() + 1) / 2;
      chosen.addAll(positives.subList(0, Math.min(half, positives.size())));
      chosen.addAll(negatives.subList(0, Math.min(s.heatmaps() - chosen.size(),
          negatives.size())));
      for (RunPart.Prediction p : positives) {
        if (chosen.size() < s.heatmaps() && !chosen.contains(p)) {
          chosen.add(p);
        }
      }
      if (chosen.isEmpty()) {
        return;
      }
      html.tag("h3", "Attention heatmaps (" + split + " slides)");
      html.raw("<p class=\"meta\">Each tile is coloured by the percentile of its attention "
          + "within its slide; red boxes number the most attended tiles, shown below each map."
          + "</p>\n");
      List<String> ids = chosen.stream().map(RunPart.Prediction::slideId).toList();
      Map<String, Heatmaps.SlideInfo> slides = new HashMap<>();
      String slidesProblem = slideInfos(ids, slides);
      Map<String, Heatmaps.Attention> attention = attention(part, ids);
      for (int i = 0; i < chosen.size(); i++) {
        RunPart.Prediction p = chosen.get(i);
        html.raw("<div class=\"slide\">\n");
        String probs = probabilities(p);
        html.raw("<h4>" + Html.esc(p.slideId()) + " — true " + Html.esc(p.label())
            + ", predicted " + Html.esc(p.predicted()) + " (" + Html.esc(probs) + ")</h4>\n");
        Heatmaps.SlideInfo info = slides.get(p.slideId());
        Heatmaps.Attention att = attention.get(p.slideId());
        String problem = info == null
            ? (slidesProblem != null ? slidesProblem : "not in the tile index's slide table")
            : att == null ? "no rows in attention.parquet" : null;
        if (problem == null) {
          try {
            Heatmaps.Drawn d = Heatmaps.draw(conf, s.cacheDir(), info, att,
                p.slideId() + " (" + att.map() + ")", figures,
                prefix + "-slide-" + (i + 1), s.topTiles());
            html.img(FIGURES + "/" + d.heatmap(), "attention heatmap of " + p.slideId());
            html.raw("<div class=\"tiles\">\n");
            for (int k = 0; k < d.tiles().size(); k++) {
              Heatmaps.TileImage t = d.tiles().get(k);
              html.raw("<figure><img src=\"" + Html.esc(FIGURES + "/" + t.file()) + "\" alt=\""
                  + "top tile " + (k + 1) + "\"><figcaption>#" + (k + 1) + " at (" + t.x() + ", "
                  + t.y() + ")<br>attention " + String.format(java.util.Locale.ROOT, "%.4g",
                  t.attention()) + ", percentile " + Values.fmt(t.percentile())
                  + "</figcaption></figure>\n");
            }
            html.raw("</div>\n");
            drawn++;
          } catch (IOException | RuntimeException | UnsatisfiedLinkError e) {
            problem = Errors.oneLine(e);
          }
        }
        if (problem != null) {
          unreadable++;
          console.println("report: slide " + p.slideId() + " not drawn: " + problem);
          html.raw("<p class=\"placeholder\">Slide " + Html.esc(p.slideId())
              + " could not be drawn: " + Html.esc(problem) + "</p>\n");
        }
        html.raw("</div>\n");
      }
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
      String tiles = config.path("features_manifest").path("tiles").asText("");
      if (tiles.isEmpty()) {
        return "the features' manifest names no tile index (imported features)";
      }
      Path dir = new Path(tiles, SlideTable.DIR);
      try {
        if (!dir.getFileSystem(conf).exists(dir)) {
          return dir + " does not exist (the tile index was moved or deleted)";
        }
        for (Row r : spark.read().parquet(dir.toString())
            .where(functions.col("slide_id").isin(ids.toArray()))
            .select("slide_id", "path", "tile_level", "size_at_level").collectAsList()) {
          if (!r.isNullAt(2) && !r.isNullAt(3)) {
            out.put(r.getString(0), new Heatmaps.SlideInfo(r.getString(0), r.getString(1),
                r.getInt(2), r.getInt(3)));
          }
        }
        return null;
      } catch (IOException | RuntimeException e) {
        return "cannot read " + dir + ": " + Errors.oneLine(e);
      }
    }

    /**
     * The chosen slides' attention. A model with several maps (one per class or branch) is
     * shown by the map of the class it predicted when there is one, else by its first map.
     */
    private Map<String, Heatmaps.Attention> attention(RunPart part, List<String> ids) {
      Map<String, Heatmaps.Attention> out = new HashMap<>();
      Path file = new Path(part.dir, TrainStage.ATTENTION);
      Dataset<Row> frame = spark.read().parquet(file.toString())
          .where(functions.col("slide_id").isin(ids.toArray()));
      List<String> maps = new ArrayList<>();
      for (StructField f : frame.schema().fields()) {
        if (f.dataType().equals(DataTypes.FloatType) || f.dataType().equals(DataTypes.DoubleType)) {
          maps.add(f.name());
        }
      }
      if (maps.isEmpty()) {
        return out;
      }
      Map<String, List<Row>> bySlide = new HashMap<>();
      for (Row r : frame.collectAsList()) {
        bySlide.computeIfAbsent(r.getAs("slide_id"), k -> new ArrayList<>()).add(r);
      }
      Map<String, String> predicted = new HashMap<>();
      part.predictions.forEach(p -> predicted.put(p.slideId(), p.predicted()));
      for (Map.Entry<String, List<Row>> e : bySlide.entrySet()) {
        String wanted = predicted.getOrDefault(e.getKey(), "").replaceAll("[^A-Za-z0-9_]", "_");
        String map = maps.contains("attention") ? "attention"
            : maps.contains(wanted) ? wanted : maps.get(0);
        List<Row> rows = e.getValue();
        long[] x = new long[rows.size()];
        long[] y = new long[rows.size()];
        float[] a = new float[rows.size()];
        for (int i = 0; i < rows.size(); i++) {
          Row r = rows.get(i);
          x[i] = r.<Long>getAs("x");
          y[i] = r.<Long>getAs("y");
          a[i] = ((Number) r.getAs(map)).floatValue();
        }
        out.put(e.getKey(), new Heatmaps.Attention(map, x, y, a));
      }
      return out;
    }

    private void history(RunPart part) {
      if (part.history.isEmpty()) {
        return;
      }
      html.tag("h3", "Training history");
      List<List<String>> rows = new ArrayList<>();
      for (JsonNode h : part.history) {
        rows.add(List.of(String.valueOf(h.path("epoch").asInt() + 1),
            h.path("globalStep").asText(),
            String.format(java.util.Locale.ROOT, "%.3g", Values.number(h.path("learningRate"))),
            Values.fmt(Values.number(h.path("trainLoss"))),
            Values.fmt(Values.number(h.path("train").path("loss"))),
            Values.fmt(Values.number(h.path("train").path("accuracy"))),
            Values.fmt(Values.number(h.path("train").path("auc"))),
            Values.fmt(Values.number(h.path("val").path("loss"))),
            Values.fmt(Values.number(h.path("val").path("accuracy"))),
            Values.fmt(Values.number(h.path("val").path("auc"))),
            h.path("best").asBoolean() ? "best" : ""));
      }
      html.table(List.of("epoch", "step", "learning rate", "running loss", "train loss",
          "train accuracy", "train AUC", "val loss", "val accuracy", "val AUC", ""), rows);
    }

    void provenance(Path runDir) throws IOException {
      html.tag("h2", "Configuration and provenance");
      JsonNode fm = config.path("features_manifest");
      JsonNode st = config.path("settings");
      JsonNode opt = config.path("optimizer");
      List<List<String>> rows = new ArrayList<>();
      rows.add(List.of("run folder", runDir.toString()));
      rows.add(List.of("model", model() + " " + compact(config.path("model"))));
      rows.add(List.of("encoder", encoder() + " " + compact(fm.path("encoder"))));
      rows.add(List.of("preprocessing", fm.path("preprocessing").asText("")));
      rows.add(List.of("features", config.path("features").asText("")));
      rows.add(List.of("tile index", fm.path("tiles").asText("")));
      rows.add(List.of("tile parameters", compact(fm.path("tile_params"))));
      rows.add(List.of("labels", config.path("labels_file").asText("") + " ("
          + config.path("labels").size() + " slides)"));
      rows.add(List.of("classes", String.join(", ", classes)));
      rows.add(List.of("optimizer", compact(opt)));
      rows.add(List.of("training", "seed " + st.path("seed").asText() + ", workers "
          + st.path("workers").asText() + ", folds " + st.path("folds").asText() + ", bags per "
          + "step " + st.path("bagsPerStep").asText() + ", loop " + compact(st.path("loop"))));
      for (JsonNode sp : config.path("splits")) {
        rows.add(List.of("split " + sp.path("name").asText(), "train "
            + sp.path("train").size() + ", val " + sp.path("val").size() + ", test "
            + sp.path("test").size() + " slides"));
      }
      html.table(List.of("item", "value"), rows);
      html.raw("<details><summary>config.json</summary><pre>"
          + Html.esc(RunPart.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(config))
          + "</pre></details>\n");
    }

    private static String cap(String s) {
      return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }

    private static String compact(JsonNode n) {
      return n.isMissingNode() || n.isNull() ? "" : n.toString();
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
