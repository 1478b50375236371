package org.tessera.spark.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * What keeps a stage's output folder consistent across runs: the parameters that made it are
 * recorded beside it, a later run with other parameters is refused unless it overwrites, and the
 * slides already committed are the ones whose slide row says {@code ok}.
 */
public final class OutputGuard {
  private static final ObjectMapper JSON = new ObjectMapper();

  private OutputGuard() {}

  /**
   * Records {@code params} in {@code paramsFile}, refusing when the file holds other parameters
   * and {@code overwrite} is off. With {@code overwrite}, uncommitted work is discarded.
   *
   * @param what what the existing output would be, for the error ("tiles made with other ...")
   */
  public static void claim(Configuration conf, Path root, Path paramsFile, ObjectNode params,
      boolean overwrite, String what) throws IOException {
    FileSystem fs = root.getFileSystem(conf);
    if (fs.exists(paramsFile) && !overwrite) {
      JsonNode existing;
      try (var in = fs.open(paramsFile)) {
        existing = JSON.readTree(in);
      }
      if (!existing.equals(params)) {
        throw new IllegalArgumentException(root + " holds " + what + " (" + paramsFile
            + "): use --overwrite to redo every slide, or another --out");
      }
    }
    if (overwrite) {
      fs.delete(new Path(root, RangeCommit.WORK), true);
    }
    fs.mkdirs(new Path(root, SlideTable.DIR));
    byte[] bytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsString(params)
        .getBytes(StandardCharsets.UTF_8);
    AtomicFiles.writeStream(conf, paramsFile, o -> o.write(bytes));
  }

  /** Ids of slides whose row in {@code slidesDir} says ok: their outputs are complete. */
  public static Set<String> committedOk(SparkSession spark, Configuration conf, Path slidesDir)
      throws IOException {
    Set<String> ids = new HashSet<>();
    FileSystem fs = slidesDir.getFileSystem(conf);
    if (!fs.exists(slidesDir) || fs.globStatus(new Path(slidesDir, "*.parquet")).length == 0) {
      return ids;
    }
    for (Row r : spark.read().parquet(slidesDir.toString()).select("slide_id", "status")
        .collectAsList()) {
      if (SlideTable.OK.equals(r.getString(1))) {
        ids.add(r.getString(0));
      }
    }
    return ids;
  }
}
