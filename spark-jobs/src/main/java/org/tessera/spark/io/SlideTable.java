package org.tessera.spark.io;

import java.io.IOException;
import java.io.Serializable;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;
import org.apache.spark.sql.SparkSession;

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
    AtomicFiles.write(conf, path(slidesDir, r.slideId()), rowWriter(conf, r));
  }

  /**
   * Commits a slide's row from a task: written only if the slide has none, so an attempt of the
   * same task that ran before (a retry, a speculative copy) keeps what it committed. The driver
   * removes the rows of the slides it is about to redo before any task starts, so a row found
   * here is this run's.
   *
   * @return the row now committed: {@code r}, or the one another attempt wrote first
   */
  public static Row commit(Configuration conf, Path slidesDir, Row r) throws IOException {
    if (AtomicFiles.writeIfAbsent(conf, path(slidesDir, r.slideId()), rowWriter(conf, r))) {
      return r;
    }
    return read(conf, slidesDir, r.slideId()).orElse(r);
  }

  /** A slide's committed row, if it has one. */
  public static Optional<Row> read(Configuration conf, Path slidesDir, String slideId)
      throws IOException {
    Path p = path(slidesDir, slideId);
    if (!p.getFileSystem(conf).exists(p)) {
      return Optional.empty();
    }
    List<Group> rows = ParquetRows.readAll(conf, List.of(p));
    if (rows.isEmpty()) {
      return Optional.empty();
    }
    Group g = rows.get(0);
    return Optional.of(new Row(g.getString("slide_id", 0), g.getString("path", 0),
        g.getString("status", 0), string(g, "error"), string(g, "vendor"), integer(g, "width"),
        integer(g, "height"), (int) integer(g, "levels"), real(g, "mpp"), string(g, "mpp_source"),
        real(g, "objective_power"), (int) integer(g, "tile_level"),
        (int) integer(g, "size_at_level"), (int) integer(g, "tile_size"), real(g, "target_mpp"),
        g.getLong("tile_count", 0), real(g, "tissue_fraction"), string(g, "qc_path"),
        g.getLong("elapsed_ms", 0), g.getString("finished_at", 0), string(g, "reader")));
  }

  /** What the slide table records of one slide: the file it was made from and its status. */
  public record Recorded(String path, String status) implements Serializable {
    private static final long serialVersionUID = 1L;

    public boolean ok() {
      return OK.equals(status);
    }
  }

  /** Every slide the table holds a row for, by id (empty when there is no table yet). */
  public static Map<String, Recorded> recorded(SparkSession spark, Configuration conf,
      Path slidesDir) throws IOException {
    Map<String, Recorded> m = new TreeMap<>();
    FileSystem fs = slidesDir.getFileSystem(conf);
    if (!fs.exists(slidesDir) || fs.globStatus(new Path(slidesDir, "*.parquet")).length == 0) {
      return m;
    }
    for (org.apache.spark.sql.Row r : spark.read().parquet(slidesDir.toString())
        .select("slide_id", "path", "status").collectAsList()) {
      m.put(r.getString(0), new Recorded(r.getString(1), r.getString(2)));
    }
    return m;
  }

  private static String string(Group g, String field) {
    return g.getFieldRepetitionCount(field) == 0 ? null : g.getString(field, 0);
  }

  private static long integer(Group g, String field) {
    if (g.getFieldRepetitionCount(field) == 0) {
      return -1;
    }
    return g.getType().getType(field).asPrimitiveType().getPrimitiveTypeName()
        == org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName.INT32
        ? g.getInteger(field, 0) : g.getLong(field, 0);
  }

  private static double real(Group g, String field) {
    return g.getFieldRepetitionCount(field) == 0 ? Double.NaN : g.getDouble(field, 0);
  }

  private static AtomicFiles.Writer rowWriter(Configuration conf, Row r) {
    return tmp -> {
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
    };
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
