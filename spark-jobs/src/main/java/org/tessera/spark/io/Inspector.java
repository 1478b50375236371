package org.tessera.spark.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructField;

/**
 * A JSON summary of any Tessera output folder (or a single Parquet table in it): for each table
 * its row count, columns and per-slide counts or statuses; JSON side files inline; image counts.
 * Meant for people, notebooks and tests alike, so it reads only what is committed.
 */
public final class Inspector {
  private static final ObjectMapper JSON = Json.MAPPER;

  /**
   * Files that only Tessera's stages write at the top of their output: tile_params.json (tile),
   * manifest.json (embed, import-features), config.json (train), collaborate.json (collaborate)
   * and masks/ (synth).
   */
  private static final List<String> MARKERS = List.of("tile_params.json", "manifest.json",
      "config.json", "collaborate.json", "masks/");

  private Inspector() {}

  public static ObjectNode inspect(SparkSession spark, String location) throws IOException {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    Path root = new Path(location);
    FileSystem fs = root.getFileSystem(conf);
    if (!fs.exists(root)) {
      throw new IOException(location + " does not exist: give a Tessera output folder");
    }
    root = fs.makeQualified(root);
    ObjectNode out = JSON.createObjectNode();
    out.put("path", root.toString());
    if (!fs.getFileStatus(root).isDirectory()) {
      throw new IOException(location + " is a file: give a Tessera output folder or table folder");
    }
    if (isTable(fs, root)) {
      out.put("kind", "table");
      out.set("table", table(spark, fs, root));
      return out;
    }
    ObjectNode tables = JSON.createObjectNode();
    ObjectNode files = JSON.createObjectNode();
    FileStatus[] entries = fs.listStatus(root);
    Arrays.sort(entries);
    for (FileStatus e : entries) {
      String name = e.getPath().getName();
      if (name.startsWith("_") || name.startsWith(".")) {
        continue;
      }
      if (e.isDirectory() && isTable(fs, e.getPath())) {
        tables.set(name, table(spark, fs, e.getPath()));
      } else if (e.isDirectory()) {
        ObjectNode d = JSON.createObjectNode();
        d.put("files", fs.listStatus(e.getPath(), p -> !p.getName().startsWith("_")
            && !p.getName().startsWith(".")).length);
        files.set(name + "/", d);
      } else if (name.endsWith(".json")) {
        try (var in = fs.open(e.getPath())) {
          files.set(name, JSON.readTree(in));
        }
      } else {
        files.put(name, e.getLen());
      }
    }
    if (tables.isEmpty() && MARKERS.stream().noneMatch(files::has)) {
      throw new IOException(location + " is not a Tessera output (no Parquet tables and none of "
          + String.join(", ", MARKERS) + "): give the --out of a tessera command, or one "
          + "table folder in it");
    }
    out.put("kind", tables.has(TileIndex.DIR) && tables.has(SlideTable.DIR) ? "tile-output"
        : "folder");
    out.set("tables", tables);
    out.set("files", files);
    return out;
  }

  private static boolean isTable(FileSystem fs, Path dir) throws IOException {
    return fs.globStatus(new Path(dir, "*.parquet")).length > 0;
  }

  private static ObjectNode table(SparkSession spark, FileSystem fs, Path dir) throws IOException {
    ObjectNode t = JSON.createObjectNode();
    t.put("files", fs.globStatus(new Path(dir, "*.parquet")).length);
    Dataset<Row> df = spark.read().parquet(dir.toString());
    List<String> names = Arrays.asList(df.columns());
    ObjectNode cols = t.putObject("columns");
    for (StructField f : df.schema().fields()) {
      cols.put(f.name(), f.dataType().simpleString());
    }
    t.put("rows", df.count());
    if (names.contains("status")) {
      ObjectNode counts = t.putObject("status_counts");
      for (Row r : df.groupBy("status").count().orderBy("status").collectAsList()) {
        counts.put(r.getString(0), r.getLong(1));
      }
    }
    if (!names.contains("slide_id")) {
      return t;
    }
    ObjectNode perSlide = t.putObject("per_slide");
    if (names.contains("status")) {
      Set<String> wanted = Set.of("status", "tile_count", "error");
      List<String> keep = names.stream().filter(wanted::contains).toList();
      Dataset<Row> rows = df.select("slide_id", keep.toArray(String[]::new)).orderBy("slide_id");
      for (Row r : rows.collectAsList()) {
        ObjectNode s = perSlide.putObject(r.getString(0));
        for (int i = 0; i < keep.size(); i++) {
          Object v = r.get(i + 1);
          if (v instanceof Long l) {
            s.put(keep.get(i), l);
          } else if (v != null) {
            s.put(keep.get(i), v.toString());
          }
        }
      }
    } else {
      for (Row r : df.groupBy("slide_id").count().orderBy("slide_id").collectAsList()) {
        perSlide.put(r.getString(0), r.getLong(1));
      }
    }
    t.put("slides", perSlide.size());
    return t;
  }

  public static String pretty(ObjectNode node) throws IOException {
    return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node);
  }

}
