package org.tessera.spark.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.tessera.spark.io.FiniteJson;
import picocli.CommandLine.Option;

/** Options every per-slide stage shares: redoing finished slides, the slide cache, the summary. */
final class RunOptions {
  static final String DEFAULT_CACHE_DIR =
      System.getProperty("java.io.tmpdir") + "/tessera-slide-cache";

  @Option(names = "--overwrite", description = "Redo slides that are already done.")
  boolean overwrite;

  @Option(names = "--cache-dir", paramLabel = "DIR",
      description = "Executor-local folder for copies of slides on non-local file systems "
          + "(default: <java.io.tmpdir>/tessera-slide-cache).")
  String cacheDir = DEFAULT_CACHE_DIR;

  @Option(names = "--summary-json", paramLabel = "FILE", description = "Also write the run summary as JSON.")
  Path summaryJson;

  /** Prints a stage's summary and writes it as JSON when asked. */
  void report(String text, Object summary) throws IOException {
    System.out.println(text);
    writeSummary(summaryJson, summary);
  }

  /** Writes a stage's summary as JSON (NaN as null) to {@code file}, when one is given. */
  static void writeSummary(Path file, Object summary) throws IOException {
    if (file != null) {
      Files.write(file, FiniteJson.bytes(summary));
    }
  }
}
