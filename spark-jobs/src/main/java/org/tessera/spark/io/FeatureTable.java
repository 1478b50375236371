package org.tessera.spark.io;

import org.apache.parquet.example.data.Group;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;
import org.apache.spark.sql.Row;
import scala.collection.Seq;

/**
 * Feature bags: {@code FEAT/features/<slide_id>+<part>.parquet}, one row per tile with its grid
 * position and its feature vector ({@code array<float>} to Spark), in the tile index's order.
 */
public final class FeatureTable {
  public static final String DIR = "features";
  public static final MessageType SCHEMA = MessageTypeParser.parseMessageType("""
      message feature {
        required binary slide_id (STRING);
        required int32 col;
        required int32 row;
        required int64 x;
        required int64 y;
        required int32 level;
        required group features (LIST) {
          repeated group list {
            required float element;
          }
        }
      }
      """);

  private FeatureTable() {}

  /** Fills a row's feature list from {@code values[offset, offset + dim)}. */
  public static void putFeatures(Group row, float[] values, int offset, int dim) {
    Group list = row.addGroup("features");
    for (int i = 0; i < dim; i++) {
      list.addGroup("list").append("element", values[offset + i]);
    }
  }

  /**
   * The feature vector of a Spark row read from this table and selected as
   * {@code slide_id, x, y, features}; a null element (a damaged file) fails naming the tile.
   */
  public static float[] features(Row r) {
    Seq<Object> seq = r.getAs(3);
    float[] f = new float[seq.size()];
    scala.collection.Iterator<Object> it = seq.iterator();
    for (int i = 0; it.hasNext(); i++) {
      Object v = it.next();
      if (v == null) {
        throw new IllegalArgumentException("slide " + r.getString(0) + ": a null feature at "
            + "tile (" + r.getLong(1) + ", " + r.getLong(2) + "); re-embed it");
      }
      f[i] = (Float) v;
    }
    return f;
  }
}
