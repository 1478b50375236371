package org.tessera.spark.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.UndeclaredThrowableException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.spark.SparkException;
import org.tessera.core.Errors;

/**
 * How a failed command line ends: one line on stderr saying what failed and what to do, the
 * stack trace in a log file (and on stderr too with {@code --verbose}). A Spark job's failure is
 * reported by the executor's own exception, an interrupted run (SIGTERM, Ctrl-C) as such, and a
 * native library that does not load with the package that provides it.
 */
final class Failures {
  /** System property naming the log file; bin/tessera's log4j configuration writes there too. */
  static final String LOG_PROPERTY = "tessera.log.file";
  static final String INTERRUPTED = "interrupted; re-run the same command to resume";

  /** Set when the JVM is shutting down under a running command (SIGTERM, SIGINT). */
  static final AtomicBoolean STOPPING = new AtomicBoolean();
  /** Set by whichever says "interrupted" first: the stopped command or the shutdown hook. */
  static final AtomicBoolean ANNOUNCED = new AtomicBoolean();

  private Failures() {}

  /** The log file of this JVM: {@code <java.io.tmpdir>/tessera-logs/tessera-<time>-<pid>.log}. */
  static synchronized Path logFile() {
    String file = System.getProperty(LOG_PROPERTY);
    if (file == null) {
      String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
      file = Path.of(System.getProperty("java.io.tmpdir"), "tessera-logs",
          "tessera-" + stamp + "-" + ProcessHandle.current().pid() + ".log").toString();
      System.setProperty(LOG_PROPERTY, file);
    }
    return Path.of(file);
  }

  /** Whether {@code e} is the run being stopped rather than failing. */
  static boolean interrupted(Throwable e) {
    if (STOPPING.get()) {
      return true;
    }
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof InterruptedException || t instanceof ClosedByInterruptException) {
        return true;
      }
      String m = String.valueOf(t.getMessage());
      if (m.contains("SparkContext was shut down") || m.contains("stopped SparkContext")) {
        return true;
      }
    }
    return false;
  }

  /**
   * The exception that says what went wrong: wrappers (Spark's job failure, executions,
   * reflection) are peeled off down to the executor's or the stage's own exception.
   */
  static Throwable root(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t && wrapper(t)) {
      t = t.getCause();
    }
    return t;
  }

  private static boolean wrapper(Throwable t) {
    return t instanceof SparkException || t instanceof ExecutionException
        || t instanceof CompletionException || t instanceof InvocationTargetException
        || t instanceof UndeclaredThrowableException || t instanceof UncheckedIOException
        || t instanceof picocli.CommandLine.ExecutionException
        || t.getMessage() == null || t.getMessage().equals(t.getCause().toString());
  }

  /** Failures of the input or the options: their message is the whole story. */
  static boolean expected(Throwable e) {
    Throwable r = root(e);
    return r instanceof IllegalArgumentException || r instanceof IOException;
  }

  /** What failed and what to do, on one line. */
  static String describe(Throwable e) {
    if (interrupted(e)) {
      return INTERRUPTED;
    }
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof LinkageError l && native_(l)) {
        return nativeLibrary(l);
      }
    }
    Throwable r = root(e);
    if (r instanceof SparkException && r.getCause() == null) {
      return executorMessage(r.getMessage());
    }
    String msg = Errors.oneLine(r);
    if (r instanceof IllegalArgumentException || r instanceof IOException
        || r instanceof IllegalStateException || r instanceof UnsupportedOperationException
        || (r.getClass() == RuntimeException.class && r.getMessage() != null)) {
      return msg;
    }
    // Anything else is unexpected: its type helps whoever reads the line.
    return r.getClass().getSimpleName() + (r.getMessage() == null ? "" : ": " + msg);
  }

  private static boolean native_(LinkageError l) {
    return l instanceof UnsatisfiedLinkError
        || String.valueOf(l.getMessage()).toLowerCase(Locale.ROOT).contains("native");
  }

  private static String nativeLibrary(LinkageError l) {
    String msg = Errors.oneLine(l);
    String lower = msg.toLowerCase(Locale.ROOT);
    if (lower.contains("openslide")) {
      return "libopenslide could not be loaded (" + msg + "): install it with `sudo apt-get "
          + "install libopenslide0` (bin/setup checks it), or set -Dopenslide.library=PATH";
    }
    if (lower.contains("nd4j") || lower.contains("javacpp") || lower.contains("openblas")
        || lower.contains("dnnl")) {
      return "ND4J's native backend could not be loaded (" + msg + "): run bin/setup, and run "
          + "on a platform nd4j-native supports (linux-x86_64, linux-arm64, macosx)";
    }
    return "a native library could not be loaded (" + msg + "): run bin/setup to install the "
        + "system packages Tessera needs";
  }

  /**
   * The executor's reason inside a job failure Spark could not attach as a cause: "Job aborted
   * due to stage failure: ... most recent failure: Lost task 0.0 ... (executor 1): java.lang.X:
   * reason\n\tat ...".
   */
  static String executorMessage(String sparkMessage) {
    String m = String.valueOf(sparkMessage);
    int lost = m.indexOf("most recent failure:");
    if (lost >= 0) {
      int colon = m.indexOf("): ", lost);
      if (colon >= 0) {
        m = m.substring(colon + 3);
      }
    }
    int nl = m.indexOf('\n');
    if (nl >= 0) {
      m = m.substring(0, nl);
    }
    // Drop the exception's class name in front of its message.
    m = m.replaceFirst("^([a-zA-Z_$][\\w$]*\\.)+[A-Z][\\w$]*(Exception|Error): ", "");
    return m.strip();
  }

  /** Appends the failure's stack trace to the log file; null when that cannot be written. */
  static Path log(String commandLine, Throwable e) {
    Path file = logFile();
    StringWriter trace = new StringWriter();
    e.printStackTrace(new PrintWriter(trace));
    String entry = LocalDateTime.now() + " " + commandLine + " failed:\n" + trace + "\n";
    try {
      Files.createDirectories(file.getParent());
      Files.writeString(file, entry, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
      return file;
    } catch (IOException | RuntimeException notWritten) {
      return null;
    }
  }

  /**
   * Reports a failure: the stack trace to the log (and to {@code err} when verbose), then the one
   * line. Returns the exit code.
   */
  static int report(String command, String commandLine, Throwable e, boolean verbose,
      PrintWriter err) {
    Path log = log(commandLine, e);
    if (verbose) {
      e.printStackTrace(err);
    }
    String line = command + ": " + describe(e);
    if (!expected(e) && !interrupted(e) && log != null && !verbose) {
      line += " (stack trace in " + log + "; --verbose prints it)";
    }
    if (!STOPPING.get() || ANNOUNCED.compareAndSet(false, true)) {
      err.println(line);
      err.flush();
    }
    return interrupted(e) ? 130 : 1;
  }
}
