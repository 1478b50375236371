package org.tessera.spark.collab;

import java.io.IOException;
import java.nio.file.Files;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A local file for a Hadoop path: readers that memory-map (safetensors) need one. Local paths
 * are used in place; others are copied to a temporary file removed when the JVM exits.
 */
final class LocalCopy {
  private LocalCopy() {}

  static java.nio.file.Path of(Configuration conf, Path file) throws IOException {
    FileSystem fs = file.getFileSystem(conf);
    if (fs instanceof LocalFileSystem) {
      return java.nio.file.Path.of(fs.makeQualified(file).toUri());
    }
    java.nio.file.Path tmp = Files.createTempFile("tessera-", "-" + file.getName());
    tmp.toFile().deleteOnExit();
    fs.copyToLocalFile(false, file, new Path(tmp.toUri()), true);
    return tmp;
  }
}
