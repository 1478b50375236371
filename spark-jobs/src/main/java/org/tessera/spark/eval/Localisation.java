package org.tessera.spark.eval;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.tessera.core.eval.Evaluation;
import org.tessera.spark.io.SlideTable;
import org.tessera.spark.train.RunOutputs;

/**
 * How well attention finds lesions, where ground-truth masks exist. A tile is a lesion tile when
 * at least half of its mask pixels are lesion ({@link LesionMasks.Mask#tileInLesion}). Its score
 * is its attention times the number of tiles in its slide, so that uniform attention scores 1 in
 * every slide whatever its size; for {@code mean} and {@code max}, whose maps hold instance
 * logits rather than weights, the logit itself. The AUC pools the tiles of every test slide that
 * has at least one lesion tile (over all folds: each slide is tested in one fold, by that
 * fold's model); slides without lesion carry no localisation signal and are left out.
 *
 * <p>Map: {@code attention} when the model has one map; otherwise the class maps' positive
 * class ({@code class_1}) for binary tasks and the slide's own class for more classes.
 */
final class Localisation {
  static final String SPLIT = "test";

  private Localisation() {}

  /** The {@code localisation} entry of {@code metrics.json}. */
  @JsonPropertyOrder({"auc", "tiles", "lesion_tiles", "slides", "split", "masks", "map", "score",
      "pooled"})
  record Result(double auc, int tiles, @JsonProperty("lesion_tiles") int lesionTiles,
      int slides, String split, String masks, String map, String score, String pooled) {}

  /**
   * Localisation on the run's test slides, or empty (saying why on {@code console}) when no
   * masks were asked for and none were found, or the tile geometry is unknown.
   */
  static Optional<Result> evaluate(SparkSession spark, TrainedRun run,
      Map<String, Predictions> predictions, EvaluateSettings s, PrintStream console)
      throws IOException {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    boolean asked = !s.masks().isEmpty();
    Map<String, TileGeometry> geometry = tileGeometry(spark, conf, run);

    LesionMasks masks;
    if (asked) {
      masks = LesionMasks.read(conf, new Path(s.masks()));
    } else {
      Optional<Path> found = findMasks(conf, run, geometry);
      if (found.isEmpty()) {
        console.println("evaluate: no lesion masks (masks/" + LesionMasks.INDEX + ") beside the"
            + " slides or the labels file; localisation skipped (--masks DIR names them)");
        return Optional.empty();
      }
      masks = LesionMasks.read(conf, found.get());
    }
    if (s.tileSize() == 0 && geometry.isEmpty()) {
      String why = "the run's features (" + run.features() + ") do not point to a tile stage"
          + " output with a slides table, so the tile size is unknown";
      if (asked) {
        throw new IllegalArgumentException(why + ": pass --tile-size, the tile edge in level-0"
            + " pixels");
      }
      console.println("evaluate: masks in " + masks.dir() + " but " + why + "; localisation"
          + " skipped (--tile-size PX enables it)");
      return Optional.empty();
    }

    boolean logits = run.model().equals("mean") || run.model().equals("max");
    List<Double> scores = new ArrayList<>();
    List<Boolean> inLesion = new ArrayList<>();
    int slides = 0;
    String mapUsed = null;
    for (TrainedRun.Fold fold : run.folds()) {
      Predictions.Part test = predictions.get(fold.name()).part(SPLIT);
      Map<String, Integer> labelOf = new TreeMap<>();
      for (int i = 0; i < test.size(); i++) {
        if (masks.has(test.slideIds()[i])) {
          labelOf.put(test.slideIds()[i], test.labels()[i]);
        }
      }
      if (labelOf.isEmpty()) {
        continue;
      }
      Dataset<Row> df = spark.read().parquet(fold.attention().toString());
      List<String> maps = new ArrayList<>(Arrays.asList(df.columns()));
      maps.removeAll(List.of("slide_id", "x", "y"));
      Map<String, List<Row>> bySlide = new TreeMap<>();
      for (Row r : df.where(functions.col("slide_id").isin(labelOf.keySet().toArray()))
          .collectAsList()) {
        bySlide.computeIfAbsent(r.getString(r.fieldIndex("slide_id")), k -> new ArrayList<>())
            .add(r);
      }
      for (Map.Entry<String, Integer> e : labelOf.entrySet()) {
        String id = e.getKey();
        List<Row> rows = bySlide.getOrDefault(id, List.of());
        if (rows.isEmpty()) {
          throw new IllegalArgumentException(fold.attention() + " has no rows for test slide "
              + id + ": re-run tessera train to rewrite it");
        }
        String map = RunOutputs.attentionMap(maps,
            run.classes().size() == 2 ? 1 : e.getValue(), fold.attention());
        mapUsed = run.classes().size() == 2 || maps.size() == 1 ? map : "class_<label>";
        double size = s.tileSize() > 0 ? s.tileSize() : footprint(geometry, id);
        LesionMasks.Mask mask = masks.load(conf, id);
        rows.sort(Comparator.comparingLong((Row r) -> r.getLong(r.fieldIndex("y")))
            .thenComparingLong(r -> r.getLong(r.fieldIndex("x"))));
        double scale = logits ? 1 : rows.size();
        boolean[] flags = new boolean[rows.size()];
        boolean any = false;
        for (int i = 0; i < rows.size(); i++) {
          Row r = rows.get(i);
          flags[i] = mask.tileInLesion(r.getLong(r.fieldIndex("x")), r.getLong(r.fieldIndex("y")),
              size);
          any |= flags[i];
        }
        if (!any) {
          continue;
        }
        slides++;
        for (int i = 0; i < rows.size(); i++) {
          Row r = rows.get(i);
          scores.add(((Number) r.get(r.fieldIndex(map))).doubleValue() * scale);
          inLesion.add(flags[i]);
        }
      }
    }
    double[] sc = new double[scores.size()];
    boolean[] fl = new boolean[scores.size()];
    int lesionTiles = 0;
    for (int i = 0; i < sc.length; i++) {
      sc[i] = scores.get(i);
      fl[i] = inLesion.get(i);
      lesionTiles += fl[i] ? 1 : 0;
    }
    double auc = sc.length == 0 ? Double.NaN : Evaluation.localisationAuc(sc, fl);
    return Optional.of(new Result(auc, sc.length, lesionTiles, slides, SPLIT,
        masks.dir().toString(), mapUsed, logits ? "instance logit"
            : "attention x tiles in the slide", "tiles of test slides with a lesion tile"));
  }

  /** A slide's tile placement as the tile stage recorded it. */
  record TileGeometry(String slidePath, double footprint) {}

  /**
   * The level-0 tile edge of each slide of the tile stage output the features came from: the
   * tile's size at its level when that level is 0, else its physical size over the slide's
   * microns per pixel (exact but for the tile stage's rounding to whole pixels at that level).
   * Empty when the features were imported or the tile output is gone.
   */
  static Map<String, TileGeometry> tileGeometry(SparkSession spark, Configuration conf,
      TrainedRun run) throws IOException {
    Map<String, TileGeometry> out = new TreeMap<>();
    if (run.tiles().isEmpty()) {
      return out;
    }
    Path slides = new Path(run.tiles(), SlideTable.DIR);
    FileSystem fs = slides.getFileSystem(conf);
    if (!fs.exists(slides) || fs.globStatus(new Path(slides, "*.parquet")).length == 0) {
      return out;
    }
    for (Row r : spark.read().parquet(slides.toString())
        .where(functions.col("status").equalTo(SlideTable.OK))
        .select("slide_id", "path", "tile_level", "size_at_level", "tile_size", "target_mpp",
            "mpp").collectAsList()) {
      if (r.isNullAt(2) || r.isNullAt(3)) {
        continue;
      }
      double size = r.getInt(2) == 0 || r.isNullAt(4) || r.isNullAt(5) || r.isNullAt(6)
          ? r.getInt(3) : r.getInt(4) * r.getDouble(5) / r.getDouble(6);
      out.put(r.getString(0), new TileGeometry(r.getString(1), size));
    }
    return out;
  }

  private static double footprint(Map<String, TileGeometry> geometry, String slideId) {
    TileGeometry g = geometry.get(slideId);
    if (g == null) {
      throw new IllegalArgumentException("slide " + slideId + " has no ok row in the tile"
          + " stage's slides table: pass --tile-size, the tile edge in level-0 pixels");
    }
    return g.footprint();
  }

  /**
   * {@code masks/} beside the slides' folder (as tessera synth lays out a cohort), else beside
   * the labels file; the first, in name order, that holds {@code masks.json}.
   */
  static Optional<Path> findMasks(Configuration conf, TrainedRun run,
      Map<String, TileGeometry> geometry) throws IOException {
    TreeSet<String> near = new TreeSet<>();
    for (TileGeometry g : geometry.values()) {
      Path slideDir = new Path(g.slidePath()).getParent();
      if (slideDir != null && slideDir.getParent() != null) {
        near.add(slideDir.getParent().toString());
      }
    }
    List<String> candidates = new ArrayList<>(near);
    if (!run.labelsFile().isEmpty() && new Path(run.labelsFile()).getParent() != null) {
      candidates.add(new Path(run.labelsFile()).getParent().toString());
    }
    for (String c : candidates) {
      Path dir = new Path(c, "masks");
      if (LesionMasks.present(conf, dir)) {
        return Optional.of(dir);
      }
    }
    return Optional.empty();
  }
}
