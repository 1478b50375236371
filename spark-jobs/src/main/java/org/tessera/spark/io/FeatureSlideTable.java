package org.tessera.spark.io;

import java.io.IOException;
import java.io.Serializable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;

/**
 * The per-slide table of a feature output: {@code FEAT/slides/<slide_id>.parquet}, written after
 * the slide's feature files, so its presence with {@code status = ok} is the slide's commit.
 */
public final class FeatureSlideTable {
  public static final MessageType SCHEMA = MessageTypeParser.parseMessageType("""
      message feature_slide {
        required binary slide_id (STRING);
        required binary status (STRING);
        optional binary error (STRING);
        required int64 tile_count;
        required int32 feature_dim;
        required binary device (STRING);
        required int64 elapsed_ms;
        required binary finished_at (STRING);
      }
      """);

  private FeatureSlideTable() {}

  /** One slide's row; {@code error} is null when the slide is ok. */
  public record Row(String slideId, String status, String error, long tileCount, int featureDim,
      String device, long elapsedMs, String finishedAt) implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  public static void write(Configuration conf, Path slidesDir, Row r) throws IOException {
    AtomicFiles.write(conf, SlideTable.path(slidesDir, r.slideId()), tmp -> {
      try (ParquetRows out = new ParquetRows(conf, tmp, SCHEMA)) {
        Group g = out.newRow()
            .append("slide_id", r.slideId())
            .append("status", r.status());
        if (r.error() != null) {
          g.append("error", r.error());
        }
        g.append("tile_count", r.tileCount())
            .append("feature_dim", r.featureDim())
            .append("device", r.device())
            .append("elapsed_ms", r.elapsedMs())
            .append("finished_at", r.finishedAt());
        out.write(g);
      }
    });
  }
}
