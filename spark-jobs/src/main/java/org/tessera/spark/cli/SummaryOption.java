package org.tessera.spark.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.tessera.spark.io.Json;
import picocli.CommandLine.Option;

/** {@code --summary-json}: every stage command prints its summary and can also save it. */
final class SummaryOption {

  @Option(names = "--summary-json", paramLabel = "FILE",
      description = "Also write the stage's summary as JSON.")
  Path file;

  /** Prints a stage's summary line and writes the summary as JSON (NaN as null) when asked. */
  void report(String text, Object summary) throws IOException {
    System.out.println(text);
    if (file != null) {
      Files.write(file, Json.bytes(summary));
    }
  }
}
