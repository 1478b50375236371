package org.tessera.spark.train;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Types;
import org.apache.spark.api.java.JavaRDD;
import org.tessera.core.data.Bag;
import org.tessera.core.data.LabelTable;
import org.tessera.core.nn.mil.Prediction;
import org.tessera.spark.io.AtomicFiles;
import org.tessera.spark.io.ParquetRows;
import scala.Tuple2;

/**
 * A trained split's tables: {@code predictions.parquet} (slide_id, split, label, label_index,
 * predicted, one {@code prob_<class>} column per class) and {@code attention.parquet} (slide_id,
 * x, y, one column per attention map the model gives), each written whole or not at all.
 */
public final class RunOutputs {

  private RunOutputs() {}

  /** A Parquet/Spark-safe column name for a class or map name. */
  public static String column(String prefix, String name) {
    return prefix + name.replaceAll("[^A-Za-z0-9_]", "_");
  }

  /**
   * The attention column that scores tiles for class {@code classIndex}: the only map when the
   * model has one, else that class's map ({@code class_<i>}).
   */
  public static String attentionMap(List<String> maps, int classIndex, Path file) {
    if (maps.size() == 1) {
      return maps.get(0);
    }
    String wanted = column("", "class_" + classIndex);
    if (!maps.contains(wanted)) {
      throw new IllegalArgumentException(file + " has maps " + maps + " but no " + wanted
          + ": use a run written by this version of tessera train");
    }
    return wanted;
  }

  static void writePredictions(Configuration conf, Path file, LabelTable table,
      Map<String, String> splitOf, Map<String, Prediction> predictions) throws IOException {
    List<String> classes = table.classes();
    Types.GroupBuilder<MessageType> b = Types.buildMessage()
        .required(PrimitiveTypeName.BINARY).as(org.apache.parquet.schema.LogicalTypeAnnotation
            .stringType()).named("slide_id")
        .required(PrimitiveTypeName.BINARY).as(org.apache.parquet.schema.LogicalTypeAnnotation
            .stringType()).named("split")
        .required(PrimitiveTypeName.BINARY).as(org.apache.parquet.schema.LogicalTypeAnnotation
            .stringType()).named("label")
        .required(PrimitiveTypeName.INT32).named("label_index")
        .required(PrimitiveTypeName.BINARY).as(org.apache.parquet.schema.LogicalTypeAnnotation
            .stringType()).named("predicted");
    for (String c : classes) {
      b.required(PrimitiveTypeName.DOUBLE).named(column("prob_", c));
    }
    MessageType schema = b.named("prediction");
    AtomicFiles.write(conf, file, tmp -> {
      try (ParquetRows out = new ParquetRows(conf, tmp, schema)) {
        for (Map.Entry<String, String> e : splitOf.entrySet()) {
          Prediction p = predictions.get(e.getKey());
          if (p == null) {
            throw new IllegalStateException("no prediction for slide " + e.getKey());
          }
          String label = table.entry(e.getKey()).label();
          Group g = out.newRow()
              .append("slide_id", e.getKey())
              .append("split", e.getValue())
              .append("label", label)
              .append("label_index", table.classIndex(label))
              .append("predicted", classes.get(argMax(p.probabilities())));
          for (int c = 0; c < classes.size(); c++) {
            g.append(column("prob_", classes.get(c)), (double) p.probabilities()[c]);
          }
          out.write(g);
        }
      }
    });
  }

  static void writeAttention(Configuration conf, Path file, JavaRDD<Bag> bags,
      Map<String, Prediction> predictions) throws IOException {
    Set<String> ids = Set.copyOf(predictions.keySet());
    Map<String, int[][]> coords = new HashMap<>(bags.filter(bag -> ids.contains(bag.slideId()))
        .mapToPair(bag -> new Tuple2<>(bag.slideId(), new int[][] {bag.x(), bag.y()}))
        .collectAsMap());
    List<String> names = predictions.isEmpty() ? List.of()
        : predictions.values().iterator().next().attentionNames();
    Types.GroupBuilder<MessageType> b = Types.buildMessage()
        .required(PrimitiveTypeName.BINARY).as(org.apache.parquet.schema.LogicalTypeAnnotation
            .stringType()).named("slide_id")
        .required(PrimitiveTypeName.INT64).named("x")
        .required(PrimitiveTypeName.INT64).named("y");
    List<String> columns = new ArrayList<>();
    for (String n : names) {
      columns.add(column("", n));
      b.required(PrimitiveTypeName.FLOAT).named(column("", n));
    }
    MessageType schema = b.named("attention");
    AtomicFiles.write(conf, file, tmp -> {
      try (ParquetRows out = new ParquetRows(conf, tmp, schema)) {
        for (Map.Entry<String, Prediction> e : new TreeMap<>(predictions).entrySet()) {
          int[][] xy = coords.get(e.getKey());
          float[][] maps = e.getValue().attention();
          for (int i = 0; i < xy[0].length; i++) {
            Group g = out.newRow()
                .append("slide_id", e.getKey())
                .append("x", (long) xy[0][i])
                .append("y", (long) xy[1][i]);
            for (int k = 0; k < columns.size(); k++) {
              g.append(columns.get(k), maps[k][i]);
            }
            out.write(g);
          }
        }
      }
    });
  }

  static int argMax(float[] p) {
    int best = 0;
    for (int c = 1; c < p.length; c++) {
      if (p[c] > p[best]) {
        best = c;
      }
    }
    return best;
  }
}
