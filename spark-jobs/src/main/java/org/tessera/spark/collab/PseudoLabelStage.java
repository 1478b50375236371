package org.tessera.spark.collab;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.tessera.core.collab.PatchClasses;
import org.tessera.core.collab.PseudoLabeler;
import org.tessera.spark.io.AtomicFiles;
import org.tessera.spark.io.FeatureTable;
import org.tessera.spark.io.ParquetRows;
import org.tessera.spark.train.RunOutputs;
import org.tessera.spark.train.TrainStage;
import scala.Tuple2;

/**
 * The E-step of round r: pseudo-labels for the tiles of the slides the previous round's head was
 * trained on ({@code train}, whose patches the encoder learns from) and validated on
 * ({@code val}, whose patches decide when the encoder stops: the {@code holdout} set). Test
 * slides are never touched. Writes {@code pseudo-labels.parquet}, one row per chosen tile, with
 * the virtual shard each training tile belongs to (see {@link PatchSchedule}).
 *
 * <p>The attention map and the predictions are collected on the driver, as the train stage
 * wrote them there; patch probabilities (rounds 2+) are computed on the executors from the
 * previous round's features, which are exactly the fine-tuned encoder's outputs, so the patch
 * classifier needs no second pass of the CNN.
 */
final class PseudoLabelStage {

  static final String TRAIN = "train";
  static final String HOLDOUT = "holdout";

  static final MessageType SCHEMA = MessageTypeParser.parseMessageType("""
      message pseudo_label {
        required binary slide_id (STRING);
        required int64 x;
        required int64 y;
        required int32 patch_class;
        required double score;
        required int32 rank;
        required boolean top;
        required binary set (STRING);
        required int32 shard;
      }
      """);

  /** One chosen tile as written. */
  record Labelled(String slideId, PseudoLabeler.Choice choice, String set, int shard) {}

  /** Counts per set and patch class, for the console and the round's summary. */
  record Summary(int round, double fraction, int slides, int trainTiles, int holdoutTiles,
      Map<String, Integer> perClass) {
    String describe() {
      return "e-step round " + round + ": " + trainTiles + " training and " + holdoutTiles
          + " holdout patches from " + slides + " slides (top/bottom " + Math.round(100 * fraction)
          + "% of each slide's tiles), per class " + perClass;
    }
  }

  private PseudoLabelStage() {}

  /**
   * @param head        the previous round's head run (a single split)
   * @param features    the previous round's features; used from round 2
   * @param classifier  the previous round's patch classifier {@code [C, D]} and bias; from round 2
   */
  static Summary run(SparkSession spark, Path head, int round, PatchClasses classes,
      PseudoLabeler.Schedule schedule, Path features, Optional<PatchClassifier> classifier,
      int shards, long seed, Path out) throws IOException {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    Map<String, String> setOf = new TreeMap<>();
    Map<String, Integer> classOf = new HashMap<>();
    for (Row r : spark.read().parquet(new Path(head, TrainStage.PREDICTIONS).toString())
        .select("slide_id", "split", "label_index").collectAsList()) {
      String split = r.getString(1);
      if (split.equals("train") || split.equals("val")) {
        setOf.put(r.getString(0), split.equals("train") ? TRAIN : HOLDOUT);
        classOf.put(r.getString(0), r.getInt(2));
      }
    }
    if (setOf.values().stream().noneMatch(TRAIN::equals)) {
      throw new IllegalStateException(head + " has no training slides in its predictions: the "
          + "head run is incomplete; delete it and resume");
    }
    Path attentionFile = new Path(head, TrainStage.ATTENTION);
    var attention = spark.read().parquet(attentionFile.toString());
    List<String> maps = new ArrayList<>(Arrays.asList(attention.columns()));
    maps.removeAll(List.of("slide_id", "x", "y"));
    Map<String, List<Row>> rowsOf = new TreeMap<>();
    for (Row r : attention.where(functions.col("slide_id").isin(setOf.keySet().toArray()))
        .collectAsList()) {
      rowsOf.computeIfAbsent(r.getString(r.fieldIndex("slide_id")), k -> new ArrayList<>()).add(r);
    }
    Map<String, Map<Long, Double>> probability = round >= 2
        ? probabilities(spark, features, classifier.orElseThrow(() -> new IllegalStateException(
            "round " + round + " needs round " + (round - 1) + "'s patch classifier")), classOf,
            classes)
        : Map.of();

    int positiveMap = classes.slideClasses().size() == 2 ? 1 - classes.negative() : -1;
    List<Labelled> chosen = new ArrayList<>();
    for (Map.Entry<String, String> e : setOf.entrySet()) {
      String id = e.getKey();
      List<Row> rows = rowsOf.getOrDefault(id, List.of());
      if (rows.isEmpty()) {
        throw new IllegalStateException(attentionFile + " has no rows for slide " + id
            + ": the head run is incomplete; delete it and resume");
      }
      int label = classOf.get(id);
      String map = RunOutputs.attentionMap(maps, positiveMap >= 0 ? positiveMap : label,
          attentionFile);
      Map<Long, Double> p = probability.getOrDefault(id, Map.of());
      List<PseudoLabeler.Tile> tiles = new ArrayList<>(rows.size());
      for (Row r : rows) {
        long x = r.getLong(r.fieldIndex("x"));
        long y = r.getLong(r.fieldIndex("y"));
        double prob = round >= 2 ? p.getOrDefault(key(x, y), Double.NaN) : Double.NaN;
        tiles.add(new PseudoLabeler.Tile(x, y, ((Number) r.get(r.fieldIndex(map))).doubleValue(),
            prob));
      }
      for (PseudoLabeler.Choice c : PseudoLabeler.select(tiles, label, classes, round,
          schedule)) {
        chosen.add(new Labelled(id, c, e.getValue(), 0));
      }
    }
    List<Labelled> rows = assignShards(chosen, shards, seed, round);
    AtomicFiles.write(conf, out, tmp -> {
      try (ParquetRows w = new ParquetRows(conf, tmp, SCHEMA)) {
        for (Labelled r : rows) {
          w.write(w.newRow()
              .append("slide_id", r.slideId())
              .append("x", r.choice().x())
              .append("y", r.choice().y())
              .append("patch_class", r.choice().patchClass())
              .append("score", r.choice().score())
              .append("rank", r.choice().rank())
              .append("top", r.choice().top())
              .append("set", r.set())
              .append("shard", r.shard()));
        }
      }
    });
    Map<String, Integer> perClass = new TreeMap<>();
    int train = 0;
    for (Labelled r : rows) {
      perClass.merge(r.set() + ":" + classes.names().get(r.choice().patchClass()), 1,
          Integer::sum);
      train += r.set().equals(TRAIN) ? 1 : 0;
    }
    return new Summary(round, schedule.fraction(round), setOf.size(), train, rows.size() - train,
        perClass);
  }

  /**
   * Spreads each set's tiles over {@code shards} virtual shards by a seeded permutation of the
   * tiles in (slide, y, x) order, so that the assignment depends on the data and the seed only,
   * never on the number of workers.
   */
  static List<Labelled> assignShards(List<Labelled> chosen, int shards, long seed, int round) {
    List<Labelled> out = new ArrayList<>(chosen.size());
    for (String set : List.of(TRAIN, HOLDOUT)) {
      List<Labelled> part = new ArrayList<>(chosen.stream().filter(r -> r.set().equals(set)).toList());
      part.sort(Comparator.comparing(Labelled::slideId)
          .thenComparingLong(r -> r.choice().y()).thenComparingLong(r -> r.choice().x()));
      Collections.shuffle(part, new Random(seed * 31 + round * 7919L + set.hashCode()));
      for (int i = 0; i < part.size(); i++) {
        Labelled r = part.get(i);
        out.add(new Labelled(r.slideId(), r.choice(), set, i % shards));
      }
    }
    out.sort(Comparator.comparing(Labelled::slideId)
        .thenComparingLong(r -> r.choice().y()).thenComparingLong(r -> r.choice().x()));
    return out;
  }

  /** Tile key within a slide. */
  static long key(long x, long y) {
    return (x << 32) ^ y;
  }

  /**
   * Each tile's patch-classifier probability of its slide's patch class, computed where the
   * features are.
   */
  private static Map<String, Map<Long, Double>> probabilities(SparkSession spark, Path features,
      PatchClassifier classifier, Map<String, Integer> classOf, PatchClasses classes) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Map<String, Integer> patchClass = new HashMap<>();
    classOf.forEach((id, c) -> patchClass.put(id, classes.ofSlideClass(c)));
    Broadcast<PatchClassifier> clf = jsc.broadcast(classifier);
    Broadcast<Map<String, Integer>> wanted = jsc.broadcast(patchClass);
    try {
      Map<String, Map<Long, Double>> out = new HashMap<>();
      for (Tuple2<String, double[]> t : spark.read().parquet(features.toString())
          .where(functions.col("slide_id").isin(classOf.keySet().toArray()))
          .select("slide_id", "x", "y", "features")
          .javaRDD()
          .map(r -> {
            double p = clf.value().probabilities(FeatureTable.features(r))[wanted.value()
                .get(r.getString(0))];
            return new Tuple2<>(r.getString(0), new double[] {r.getLong(1), r.getLong(2), p});
          })
          .collect()) {
        double[] v = t._2();
        out.computeIfAbsent(t._1(), k -> new HashMap<>())
            .put(key((long) v[0], (long) v[1]), v[2]);
      }
      return out;
    } finally {
      clf.destroy();
      wanted.destroy();
    }
  }
}
