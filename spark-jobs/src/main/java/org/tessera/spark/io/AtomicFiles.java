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
    Path tmp = tempFor(target);
    try {
      fs.mkdirs(tmp.getParent());
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

  /**
   * Publishes a file only if none is there under that name: for outputs whose content is decided
   * by their name (a slide's tiles, a range of rows), which several attempts of one task may
   * write at once. A file already there is never removed, not even for a moment, so an attempt
   * that loses the race, or dies, cannot take away what another attempt finished.
   *
   * @return true when this call's file is the one published
   */
  public static boolean writeIfAbsent(Configuration conf, Path target, Writer writer)
      throws IOException {
    FileSystem fs = target.getFileSystem(conf);
    if (fs.exists(target)) {
      return false;
    }
    Path tmp = tempFor(target);
    try {
      fs.mkdirs(tmp.getParent());
      writer.write(tmp);
      if (fs.exists(target)) {
        return false;
      }
      // Where rename replaces (local disks) both files hold the same rows; where it refuses
      // (HDFS) the other attempt's file stays.
      if (!fs.rename(tmp, target)) {
        if (fs.exists(target)) {
          return false;
        }
        throw new IOException("could not rename " + tmp + " to " + target);
      }
      return true;
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

  /** A name unique to this attempt in {@code _tmp/} beside {@code target}, renamed onto it. */
  private static Path tempFor(Path target) {
    return new Path(new Path(target.getParent(), "_tmp"),
        target.getName() + "." + UUID.randomUUID() + ".tmp");
  }
}
