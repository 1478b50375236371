package org.tessera.spark.io;

import java.io.IOException;
import java.io.Serializable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;

/**
 * The slide table: {@code OUT/slides/<slide_id>.parquet}, one row per slide, written last. Its
 * presence with {@code status = ok} is the slide's commit: tiles of a slide without it are not
 * part of the output and are redone on the next run.
 */
public final class SlideTable {
  public static final String DIR = "slides";
  public static final String OK = "ok";
  public static final String FAILED = "failed";

  public static final MessageType SCHEMA = MessageTypeParser.parseMessageType("""
      message slide {
        required binary slide_id (STRING);
        required binary path (STRING);
        required binary status (STRING);
        optional binary error (STRING);
        optional binary vendor (STRING);
        optional int64 width;
        optional int64 height;
        optional int32 levels;
        optional double mpp;
        optional binary mpp_source (STRING);
        optional double objective_power;
        optional int32 tile_level;
        optional int32 size_at_level;
        optional int32 tile_size;
        optional double target_mpp;
        required int64 tile_count;
        optional double tissue_fraction;
        optional binary qc_path (STRING);
        required int64 elapsed_ms;
        required binary finished_at (STRING);
        optional binary reader (STRING);
      }
      """);

  private SlideTable() {}

  /**
   * One slide's row. Numeric fields that do not apply (a failed slide has no levels) are NaN or
   * negative and are written as nulls.
   */
  public record Row(
      String slideId,
      String path,
      String status,
      String error,
      String vendor,
      long width,
      long height,
      int levels,
      double mpp,
      String mppSource,
      double objectivePower,
      int tileLevel,
      int sizeAtLevel,
      int tileSize,
      double targetMpp,
      long tileCount,
      double tissueFraction,
      String qcPath,
      long elapsedMs,
      String finishedAt,
      String reader) implements Serializable {

    private static final long serialVersionUID = 1L;

    public static Row failed(String slideId, String path, String error, long elapsedMs,
        String finishedAt) {
      return new Row(slideId, path, FAILED, error, null, -1, -1, -1, Double.NaN, null, Double.NaN,
          -1, -1, -1, Double.NaN, 0, Double.NaN, null, elapsedMs, finishedAt, null);
    }

    public boolean ok() {
      return OK.equals(status);
    }
  }

  public static Path path(Path slidesDir, String slideId) {
    return new Path(slidesDir, slideId + ".parquet");
  }

  public static void write(Configuration conf, Path slidesDir, Row r) throws IOException {
    AtomicFiles.write(conf, path(slidesDir, r.slideId()), tmp -> {
      try (ParquetRows out = new ParquetRows(conf, tmp, SCHEMA)) {
        Group g = out.newRow()
            .append("slide_id", r.slideId())
            .append("path", r.path())
            .append("status", r.status());
        appendIfPresent(g, "error", r.error());
        appendIfPresent(g, "vendor", r.vendor());
        appendIfNonNegative(g, "width", r.width());
        appendIfNonNegative(g, "height", r.height());
        appendIfNonNegative(g, "levels", r.levels());
        appendIfFinite(g, "mpp", r.mpp());
        appendIfPresent(g, "mpp_source", r.mppSource());
        appendIfFinite(g, "objective_power", r.objectivePower());
        appendIfNonNegative(g, "tile_level", r.tileLevel());
        appendIfNonNegative(g, "size_at_level", r.sizeAtLevel());
        appendIfNonNegative(g, "tile_size", r.tileSize());
        appendIfFinite(g, "target_mpp", r.targetMpp());
        g.append("tile_count", r.tileCount());
        appendIfFinite(g, "tissue_fraction", r.tissueFraction());
        appendIfPresent(g, "qc_path", r.qcPath());
        g.append("elapsed_ms", r.elapsedMs()).append("finished_at", r.finishedAt());
        appendIfPresent(g, "reader", r.reader());
        out.write(g);
      }
    });
  }

  /** Removes a slide's row, so the slide counts as not done (before it is redone). */
  public static void delete(Configuration conf, Path slidesDir, String slideId) throws IOException {
    Path p = path(slidesDir, slideId);
    p.getFileSystem(conf).delete(p, false);
  }

  private static void appendIfPresent(Group g, String field, String value) {
    if (value != null) {
      g.append(field, value);
    }
  }

  private static void appendIfNonNegative(Group g, String field, long value) {
    if (value >= 0) {
      if (g.getType().getType(field).asPrimitiveType().getPrimitiveTypeName()
          == org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName.INT32) {
        g.append(field, (int) value);
      } else {
        g.append(field, value);
      }
    }
  }

  private static void appendIfFinite(Group g, String field, double value) {
    if (Double.isFinite(value)) {
      g.append(field, value);
    }
  }
}
