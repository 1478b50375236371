package org.tessera.spark.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.tessera.spark.io.Json;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.tessera.core.Errors;
import org.tessera.spark.eval.EvaluateStage;
import org.tessera.spark.io.LocalTrees;
import org.tessera.spark.train.TrainStage;

/**
 * The page of a collaborative (BCL) run, {@code RUN/report/index.html}: every round's slide AUC
 * and attention localisation AUC as a table and a curve, and for test slides with lesions the
 * ground-truth mask beside the attention heatmaps of round 0 and of the last round, so the effect
 * of fine-tuning the encoder is seen, not only counted. Each round's head keeps its own full
 * report ({@code tessera report --run RUN/round-<r>/head}).
 */
public final class CollaborateReport {

  private static final ObjectMapper JSON = Json.MAPPER;
  private static final String FIGURES = "figures";

  /** What was written, for the console. */
  public record Summary(String page, int rounds, int slidesDrawn, List<String> failures) {
    public String describe() {
      return "report: " + page + " (" + rounds + " rounds, " + slidesDrawn + " slide(s) drawn"
          + (failures.isEmpty() ? "" : ", not drawn: " + failures) + ")";
    }
  }

  private CollaborateReport() {}

  /**
   * Writes the page from {@code RUN/rounds.json} and the rounds' head runs.
   *
   * @param heatmaps test slides drawn at most
   * @param negative the class whose slides carry no lesion (they are not drawn)
   */
  public static Summary write(SparkSession spark, Path run, String cacheDir,
      org.tessera.wsi.ReaderKind reader, int heatmaps,
      String negative, PrintStream console) throws IOException {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    FileSystem fs = run.getFileSystem(conf);
    JsonNode rounds;
    try (var in = fs.open(new Path(run, "rounds.json"))) {
      rounds = Json.snakeKeys(JSON.readTree(in));
    }
    if (!rounds.isArray() || rounds.isEmpty()) {
      throw new IllegalArgumentException(run + "/rounds.json lists no finished round: resume "
          + "tessera collaborate first");
    }
    int last = rounds.get(rounds.size() - 1).path("round").asInt();
    Path first = new Path(new Path(run, "round-0"), "head");
    Path lastHead = new Path(new Path(run, "round-" + last), "head");
    java.nio.file.Path local = Files.createTempDirectory("tessera-collab-report-");
    List<String> failures = new ArrayList<>();
    int drawn = 0;
    try {
      java.nio.file.Path figures = Files.createDirectories(local.resolve(FIGURES));
      Html html = new Html();
      html.tag("h1", "Collaborative learning: " + run.getName());
      html.raw("<p class=\"meta\">" + Html.esc(run.toString()) + " — " + rounds.size()
          + " round(s): round 0 trains the MIL head on the starting encoder's features; each "
          + "later round fine-tunes the encoder on patches pseudo-labelled from the previous "
          + "round's attention, re-embeds every tile and retrains the head.</p>\n");
      JsonNode r0 = rounds.get(0);
      JsonNode rl = rounds.get(rounds.size() - 1);
      html.raw("<div class=\"headline\">");
      headline(html, "localisation AUC, round 0", r0.path("localisation_auc"), "loc-auc-0");
      headline(html, "localisation AUC, round " + last, rl.path("localisation_auc"),
          "loc-auc-last");
      headline(html, "test AUC, round 0", r0.path("test_auc"), "test-auc-0");
      headline(html, "test AUC, round " + last, rl.path("test_auc"), "test-auc-last");
      html.raw("</div>\n");

      html.tag("h2", "Per round");
      List<List<String>> rows = new ArrayList<>();
      double[] x = new double[rounds.size()];
      double[] loc = new double[rounds.size()];
      double[] test = new double[rounds.size()];
      double[] val = new double[rounds.size()];
      for (int i = 0; i < rounds.size(); i++) {
        JsonNode r = rounds.get(i);
        x[i] = r.path("round").asInt();
        loc[i] = num(r.path("localisation_auc"));
        test[i] = num(r.path("test_auc"));
        val[i] = num(r.path("val_auc"));
        boolean zero = r.path("round").asInt() == 0;
        rows.add(List.of(String.valueOf(r.path("round").asInt()), Values.fmt(val[i]),
            Values.fmt(test[i]), Values.fmt(loc[i]) + " (" + r.path("localisation_tiles").asInt()
                + " tiles)",
            zero ? "-" : r.path("pseudo_train").asInt() + " / " + r.path("pseudo_holdout").asInt(),
            zero ? "-" : Values.fmt(num(r.path("patch_holdout_accuracy"))),
            zero ? "-" : String.valueOf(r.path("patch_epochs").asInt()),
            String.format("%.0f", num(r.path("seconds")))));
      }
      html.table(List.of("round", "val AUC", "test AUC", "localisation AUC",
          "patches train / holdout", "patch holdout accuracy", "encoder epochs", "seconds"), rows);
      Charts.perStep(figures.resolve("rounds.png"), "AUC per EM round", "Round", "AUC",
          List.of(new Charts.Curve("localisation AUC (test tiles)", x, loc, true),
              new Charts.Curve("slide AUC (test)", x, test, true),
              new Charts.Curve("slide AUC (val)", x, val, false)), -1, "");
      html.img(FIGURES + "/rounds.png", "AUC per round");

      html.tag("h2", "Attention before and after");
      html.raw("<p class=\"meta\">Test slides with lesions: each tile coloured by the "
          + "percentile of its attention within the slide, for round 0 and round " + last
          + ", with the ground-truth lesions outlined in magenta.</p>\n");
      drawn = pairs(spark, conf, first, lastHead, last, cacheDir, reader, heatmaps, negative, figures,
          html, failures);
      Files.writeString(local.resolve("index.html"), html.page("Tessera collaborate: "
          + run.getName()), StandardCharsets.UTF_8);
      Path dest = ReportStage.publish(conf, local, run, ReportStage.REPORT_DIR);
      for (String f : failures) {
        console.println("report: " + f);
      }
      return new Summary(new Path(dest, "index.html").toString(), rounds.size(), drawn,
          failures);
    } finally {
      LocalTrees.delete(local);
    }
  }

  private static void headline(Html html, String label, JsonNode value, String id) {
    html.raw("<div>" + Html.esc(label) + "<b id=\"" + id + "\">" + Values.fmt(num(value))
        + "</b></div>");
  }

  private static double num(JsonNode n) {
    return n.isNumber() ? n.asDouble() : Double.NaN;
  }

  /** Mask, round 0 and last round for up to {@code n} lesion test slides; returns rows drawn. */
  private static int pairs(SparkSession spark, Configuration conf, Path first, Path lastHead,
      int last, String cacheDir, org.tessera.wsi.ReaderKind reader, int n, String negative,
      java.nio.file.Path figures, Html html, List<String> failures) throws IOException {
    List<String> ids = new ArrayList<>();
    for (Row r : spark.read().parquet(new Path(first, TrainStage.PREDICTIONS).toString())
        .where("split = 'test'").select("slide_id", "label").orderBy("slide_id")
        .collectAsList()) {
      if (!r.getString(1).equals(negative) && ids.size() < n) {
        ids.add(r.getString(0));
      }
    }
    if (ids.isEmpty()) {
      html.note("No test slide of a lesion class: nothing to draw.");
      return 0;
    }
    JsonNode config;
    Path cfg = new Path(first, TrainStage.CONFIG);
    try (var in = cfg.getFileSystem(conf).open(cfg)) {
      config = JSON.readTree(in);
    }
    Map<String, Heatmaps.SlideInfo> infos = new HashMap<>();
    String problem = Heatmaps.slideInfos(spark, conf,
        config.path("features_manifest").path("tiles").asText(""), ids, infos);
    Map<String, Heatmaps.Attention> before = Heatmaps.attention(spark,
        new Path(first, TrainStage.ATTENTION), ids, Map.of());
    Map<String, Heatmaps.Attention> after = Heatmaps.attention(spark,
        new Path(lastHead, TrainStage.ATTENTION), ids, Map.of());
    String masks = masksDir(conf, first);
    int drawn = 0;
    for (int i = 0; i < ids.size(); i++) {
      String id = ids.get(i);
      Heatmaps.SlideInfo info = infos.get(id);
      if (info == null || !before.containsKey(id) || !after.containsKey(id)) {
        failures.add(id + ": " + (info == null ? (problem != null ? problem
            : "not in the tile index's slide table") : "no attention rows"));
        continue;
      }
      try {
        html.raw("<div class=\"slide\"><h4>" + Html.esc(id) + "</h4><div class=\"side\">\n");
        Heatmaps.Outline outline = masks.isEmpty() ? null
            : outline(conf, new Path(masks, id + ".png"));
        Heatmaps.Drawn b = Heatmaps.draw(conf, cacheDir, reader, info, before.get(id),
            id + ", round 0", figures, "slide-" + (i + 1) + "-round-0", 0, outline);
        Heatmaps.Drawn a = Heatmaps.draw(conf, cacheDir, reader, info, after.get(id),
            id + ", round " + last, figures, "slide-" + (i + 1) + "-round-" + last, 0, outline);
        html.img(FIGURES + "/" + b.heatmap(), "round 0 attention of " + id);
        html.img(FIGURES + "/" + a.heatmap(), "round " + last + " attention of " + id);
        html.raw("</div></div>\n");
        drawn++;
      } catch (IOException | RuntimeException | UnsatisfiedLinkError e) {
        failures.add(id + ": " + Errors.oneLine(e));
        html.raw("<p class=\"placeholder\">Slide " + Html.esc(id) + " could not be drawn: "
            + Html.esc(Errors.oneLine(e)) + "</p></div></div>\n");
      }
    }
    return drawn;
  }

  /** The masks folder round 0's evaluation used, or empty. */
  private static String masksDir(Configuration conf, Path head) throws IOException {
    Path metrics = new Path(head, EvaluateStage.METRICS);
    FileSystem fs = metrics.getFileSystem(conf);
    if (!fs.exists(metrics)) {
      return "";
    }
    try (var in = fs.open(metrics)) {
      return JSON.readTree(in).path("localisation").path("masks").asText("");
    }
  }

  /**
   * A slide's lesion mask as an outline, at the downsample {@code masks.json} beside the masks
   * records (as the evaluate stage reads them); null when the slide has no mask or no index.
   */
  private static Heatmaps.Outline outline(Configuration conf, Path file) throws IOException {
    FileSystem fs = file.getFileSystem(conf);
    Path index = new Path(file.getParent(), "masks.json");
    if (!fs.exists(file) || !fs.exists(index)) {
      return null;
    }
    double downsample;
    try (var in = fs.open(index)) {
      downsample = JSON.readTree(in).path("downsample").asDouble(Double.NaN);
    }
    BufferedImage img;
    try (var in = fs.open(file)) {
      img = ImageIO.read(in);
    }
    return img == null || !(downsample > 0) ? null : Heatmaps.Outline.of(img, downsample);
  }
}
