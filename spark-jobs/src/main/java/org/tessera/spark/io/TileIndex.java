package org.tessera.spark.io;

import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;

/**
 * The tile index: {@code OUT/tiles/<slide_id>+<part>.parquet} (named and committed by {@link
 * RangeCommit}), one row per kept tile; a slide has one part unless its pixels were stored in
 * several tasks.
 */
public final class TileIndex {
  public static final String DIR = "tiles";
  public static final MessageType SCHEMA = MessageTypeParser.parseMessageType("""
      message tile {
        required binary slide_id (STRING);
        required int32 col;
        required int32 row;
        required int64 x;
        required int64 y;
        required int32 level;
        required int32 size_at_level;
        required int32 tile_size;
        required double target_mpp;
        required double tissue_fraction;
        optional binary pixel_format (STRING);
        optional binary pixels;
      }
      """);

  private TileIndex() {}
}
