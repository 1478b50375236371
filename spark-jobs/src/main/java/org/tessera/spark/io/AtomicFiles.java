package org.tessera.spark.io;

import java.io.IOException;
import java.io.OutputStream;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Write-then-rename: a file appears under its final name complete or not at all, whichever task
 * attempt wrote it and whenever the writer died. Temporary files live in {@code _tmp/} beside the
 * final file (same file system, so the rename is a metadata operation); readers such as Spark
 * ignore names starting with {@code _}.
 */
public final class AtomicFiles {
  private AtomicFiles() {}

  /** Writes a file through a callback that receives the temporary path to fill. */
  public interface Writer {
    void write(Path tmp) throws IOException;
  }

  /** Writes a file through a stream. */
  public interface StreamWriter {
    void write(OutputStream out) throws IOException;
  }

  public static void write(Configuration conf, Path target, Writer writer) throws IOException {
    FileSystem fs = target.getFileSystem(conf);
    Path tmpDir = new Path(target.getParent(), "_tmp");
    Path tmp = new Path(tmpDir, target.getName() + "." + UUID.randomUUID() + ".tmp");
    try {
      fs.mkdirs(tmpDir);
      writer.write(tmp);
      if (fs.exists(target)) {
        fs.delete(target, false);
      }
      if (!fs.rename(tmp, target)) {
        throw new IOException("could not rename " + tmp + " to " + target);
      }
    } finally {
      fs.delete(tmp, false);
    }
  }

  public static void writeStream(Configuration conf, Path target, StreamWriter writer)
      throws IOException {
    write(conf, target, tmp -> {
      try (OutputStream out = tmp.getFileSystem(conf).create(tmp, true)) {
        writer.write(out);
      }
    });
  }
}
