package org.tessera.spark.io;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** Line-oriented text files (e.g. a run's {@code history.jsonl}) on any Hadoop file system. */
public final class TextLines {

  private TextLines() {}

  /** The file's non-blank lines, in order; none when the file does not exist. */
  public static List<String> nonBlank(FileSystem fs, Path file) throws IOException {
    List<String> lines = new ArrayList<>();
    if (!fs.exists(file)) {
      return lines;
    }
    try (BufferedReader r = new BufferedReader(
        new InputStreamReader(fs.open(file), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        if (!line.isBlank()) {
          lines.add(line);
        }
      }
    }
    return lines;
  }
}
