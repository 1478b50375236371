package org.tessera.spark.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.tessera.spark.train.RunOutputs;

/**
 * One trained split's {@code predictions.parquet}, ordered by slide id: each slide's split
 * ({@code train}, {@code val}, {@code test}), true class index and class probabilities.
 */
record Predictions(String[] slideIds, String[] splits, int[] labels, float[][] probabilities) {

  /** The three splits, in the order metrics are reported. */
  static final List<String> SPLITS = List.of("train", "val", "test");

  /** Slides of one split, in slide id order. */
  record Part(String[] slideIds, int[] labels, float[][] probabilities) {
    int size() {
      return labels.length;
    }
  }

  static Predictions read(SparkSession spark, Path file, List<String> classes) {
    List<String> columns = new ArrayList<>(List.of("slide_id", "split", "label_index"));
    for (String c : classes) {
      columns.add(RunOutputs.column("prob_", c));
    }
    var df = spark.read().parquet(file.toString());
    for (String c : columns) {
      if (!Arrays.asList(df.columns()).contains(c)) {
        throw new IllegalArgumentException(file + " has no column " + c + " (classes " + classes
            + "): evaluate a run written by this version of tessera train");
      }
    }
    List<Row> rows = new ArrayList<>(df.selectExpr(columns.toArray(new String[0]))
        .collectAsList());
    rows.sort(Comparator.comparing(r -> r.getString(0)));
    int n = rows.size();
    String[] ids = new String[n];
    String[] splits = new String[n];
    int[] labels = new int[n];
    float[][] p = new float[n][classes.size()];
    for (int i = 0; i < n; i++) {
      Row r = rows.get(i);
      ids[i] = r.getString(0);
      splits[i] = r.getString(1);
      labels[i] = r.getInt(2);
      for (int c = 0; c < classes.size(); c++) {
        p[i][c] = (float) r.getDouble(3 + c);
      }
    }
    return new Predictions(ids, splits, labels, p);
  }

  Part part(String split) {
    List<Integer> idx = new ArrayList<>();
    for (int i = 0; i < splits.length; i++) {
      if (splits[i].equals(split)) {
        idx.add(i);
      }
    }
    String[] ids = new String[idx.size()];
    int[] y = new int[idx.size()];
    float[][] p = new float[idx.size()][];
    for (int k = 0; k < idx.size(); k++) {
      ids[k] = slideIds[idx.get(k)];
      y[k] = labels[idx.get(k)];
      p[k] = probabilities[idx.get(k)];
    }
    return new Part(ids, y, p);
  }
}
