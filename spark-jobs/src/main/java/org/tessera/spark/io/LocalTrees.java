package org.tessera.spark.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Local scratch folders: pages and weights files are made on the local disk (the libraries that
 * write them want a local path) and then copied to the run's file system, after which the
 * scratch folder goes.
 */
public final class LocalTrees {
  private LocalTrees() {}

  /** Deletes {@code dir} and everything below it; a missing folder is fine. */
  public static void delete(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
