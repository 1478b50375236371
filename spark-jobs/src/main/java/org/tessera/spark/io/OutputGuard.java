package org.tessera.spark.io;

import java.io.IOException;
import java.util.HashSet;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Which slides of an output are done: those whose slide row says {@code ok}. (What makes an
 * output one setting is {@link Provenance}; who may write it, {@link OutputLock}.)
 */
public final class OutputGuard {
  private OutputGuard() {}

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
