package org.tessera.spark.io;

import org.apache.parquet.example.data.Group;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;

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
}
