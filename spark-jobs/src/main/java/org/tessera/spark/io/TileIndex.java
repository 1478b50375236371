package org.tessera.spark.io;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;

/**
 * The tile index: {@code OUT/tiles/<slide_id>+<part>.parquet}, one row per kept tile. Slide ids
 * never contain {@code +}, so a slide's files are exactly those whose name before the last
 * {@code +} is its id; a slide has one part unless its pixels were stored in several tasks.
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

  public static Path partPath(Path tilesDir, String slideId, int part) {
    return new Path(tilesDir, String.format("%s+%05d.parquet", slideId, part));
  }

  /** The committed tile files of one slide. */
  public static List<Path> partsOf(Configuration conf, Path tilesDir, String slideId)
      throws IOException {
    FileSystem fs = tilesDir.getFileSystem(conf);
    List<Path> parts = new ArrayList<>();
    if (!fs.exists(tilesDir)) {
      return parts;
    }
    for (FileStatus st : fs.listStatus(tilesDir)) {
      String name = st.getPath().getName();
      int plus = name.lastIndexOf('+');
      if (st.isFile() && plus > 0 && name.endsWith(".parquet")
          && name.substring(0, plus).equals(slideId)) {
        parts.add(st.getPath());
      }
    }
    return parts;
  }

  /** Removes every committed tile file of one slide (before it is redone). */
  public static void deleteSlide(Configuration conf, Path tilesDir, String slideId)
      throws IOException {
    FileSystem fs = tilesDir.getFileSystem(conf);
    for (Path p : partsOf(conf, tilesDir, slideId)) {
      fs.delete(p, false);
    }
  }
}
