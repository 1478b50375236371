package org.tessera.spark.cli;

import java.io.IOException;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Options every per-slide stage shares: redoing finished slides, the slide cache, the summary. */
final class RunOptions {
  static final String DEFAULT_CACHE_DIR =
      System.getProperty("java.io.tmpdir") + "/tessera-slide-cache";

  @Option(names = "--overwrite", description = "Empty the output first (everything an earlier run wrote there), then redo every slide.")
  boolean overwrite;

  @Option(names = "--cache-dir", paramLabel = "DIR",
      description = "Executor-local folder for copies of slides on non-local file systems "
          + "(default: <java.io.tmpdir>/tessera-slide-cache).")
  String cacheDir = DEFAULT_CACHE_DIR;

  @Mixin
  SummaryOption summary;

  /** Prints a stage's summary and writes it as JSON when asked. */
  void report(String text, Object summary) throws IOException {
    this.summary.report(text, summary);
  }
}
