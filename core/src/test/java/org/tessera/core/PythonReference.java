package org.tessera.core;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The Python reference implementations golden tests compare against, run with Debian's
 * {@code /usr/bin/python3}. A missing interpreter or module fails the test with the package to
 * install; it never skips.
 */
public final class PythonReference {

  public static final Path PYTHON = Path.of("/usr/bin/python3");

  private PythonReference() {}

  /**
   * Fails unless {@link #PYTHON} exists and imports {@code modules} (a Python import list such as
   * {@code "torch, numpy"}); {@code install} is the command that provides them.
   */
  public static void require(String modules, String install) {
    if (!Files.isExecutable(PYTHON)) {
      fail(PYTHON + " is missing; the " + modules + " reference needs it: " + install);
    }
    String failure = call(List.of(PYTHON.toString(), "-c", "import " + modules), 60, false);
    if (failure != null) {
      fail(PYTHON + " cannot import " + modules + " (" + failure.strip().lines()
          .reduce((first, last) -> last).orElse("") + "): " + install);
    }
  }

  /**
   * Runs {@code script} with {@code args}, echoing its output; fails the test when it exits
   * non-zero or runs past {@code timeoutSeconds}.
   */
  public static void run(Path script, int timeoutSeconds, String... args) {
    List<String> command = new ArrayList<>(List.of(PYTHON.toString(), script.toString()));
    command.addAll(List.of(args));
    String failure = call(command, timeoutSeconds, true);
    if (failure != null) {
      fail(failure);
    }
  }

  /** Null on success, else the failure with the command's output. */
  private static String call(List<String> command, int timeoutSeconds, boolean echo) {
    try {
      // Output goes to a file: a pipe nobody reads while waiting could fill and stall the child.
      Path log = Files.createTempFile("python", ".log");
      try {
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(log.toFile()).start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
          p.destroyForcibly();
          return String.join(" ", command) + " timed out after " + timeoutSeconds + " s";
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        if (echo) {
          System.out.print(out);
        }
        return p.exitValue() == 0 ? null : String.join(" ", command) + " failed:\n" + out;
      } finally {
        Files.delete(log);
      }
    } catch (IOException e) {
      return String.join(" ", command) + " could not run: " + e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return String.join(" ", command) + " was interrupted";
    }
  }
}
