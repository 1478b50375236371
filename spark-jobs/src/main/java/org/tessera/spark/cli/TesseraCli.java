package org.tessera.spark.cli;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.tessera.core.Errors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * Entry point of {@code bin/tessera} and of the fat jar. Every failure ends with one line on
 * stderr, {@code tessera <command>: what failed and what to do}; the stack trace goes to the log
 * file ({@link Failures}) and, with {@code --verbose}, to stderr as well.
 */
@Command(name = "tessera",
    mixinStandardHelpOptions = true,
    versionProvider = TesseraCli.Version.class,
    description = "Weakly supervised whole-slide-image classifiers on Apache Spark.",
    subcommands = {
        SynthCommand.class,
        TileCommand.class,
        EmbedCommand.class,
        ImportFeaturesCommand.class,
        TrainCommand.class,
        CollaborateCommand.class,
        EvaluateCommand.class,
        ReportCommand.class,
        InspectCommand.class,
        DemoCommand.class,
        CommandLine.HelpCommand.class})
public final class TesseraCli {
  /** How long a stopping JVM waits for the command to report its interruption itself. */
  private static final long STOP_GRACE_SECONDS = 5;

  @Option(names = "--verbose", scope = ScopeType.INHERIT,
      description = "On failure, print the stack trace on stderr too (it always goes to the log "
          + "file named in the error line).")
  boolean verbose;

  public static void main(String[] args) {
    // Before anything logs: bin/tessera's log4j configuration writes to the same file.
    Failures.logFile();
    AtomicBoolean finished = new AtomicBoolean();
    CountDownLatch reported = new CountDownLatch(1);
    String command = commandName(args);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      if (finished.get()) {
        return;
      }
      // SIGTERM or Ctrl-C under a running command: Spark's own hook stops the context, the
      // command fails and reports the interruption; if it does not in time, say it here.
      Failures.STOPPING.set(true);
      try {
        if (!reported.await(STOP_GRACE_SECONDS, TimeUnit.SECONDS)
            && Failures.ANNOUNCED.compareAndSet(false, true)) {
          System.err.println(command + ": " + Failures.INTERRUPTED);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "tessera-interrupt"));
    int code = execute(args);
    finished.set(true);
    reported.countDown();
    // YARN's ApplicationMaster runs a cluster-mode driver's main itself and marks the
    // application failed when main exits the JVM rather than returning.
    boolean yarnCluster = "yarn".equals(System.getProperty("spark.master"))
        && "cluster".equals(System.getProperty("spark.submit.deployMode"));
    if (code != 0 || !yarnCluster) {
      System.exit(code);
    }
  }

  /** Runs a command line and returns its exit code (0 ok, 1 failed, 2 usage error). */
  public static int execute(String... args) {
    Failures.logFile();
    boolean verbose = Arrays.asList(args).contains("--verbose");
    if (verbose) {
      // Read by bin/tessera's log4j configuration, which is loaded after this.
      System.setProperty("tessera.console.level", "warn");
    }
    String line = "tessera " + String.join(" ", args);
    CommandLine cli = new CommandLine(new TesseraCli());
    // A mistyped option or value: one line naming it, not the whole usage.
    cli.setParameterExceptionHandler((ex, given) -> {
      CommandLine c = ex.getCommandLine();
      String name = c.getCommandSpec().qualifiedName(" ");
      c.getErr().println(name + ": " + Errors.oneLine(ex) + " (see " + name + " --help)");
      c.getErr().flush();
      return 2;
    });
    cli.setExecutionExceptionHandler((ex, cmd, parsed) -> {
      Throwable e = ex;
      Throwable root = Failures.root(ex);
      if (root instanceof IllegalArgumentException && root.getMessage() != null) {
        String named = OptionNames.rewrite(root.getMessage(), cmd.getCommandSpec());
        if (!named.equals(root.getMessage())) {
          e = new IllegalArgumentException(named, ex);
        }
      }
      return Failures.report(cmd.getCommandSpec().qualifiedName(" "), line, e, verbose,
          cmd.getErr());
    });
    try {
      return cli.execute(args);
    } catch (Throwable e) {
      // Errors (a native library that does not link) pass by picocli's handler.
      PrintWriter err = new PrintWriter(System.err, true);
      return Failures.report(commandName(args), line, e, verbose, err);
    }
  }

  /** {@code tessera <subcommand>} of a command line, as error lines start. */
  static String commandName(String[] args) {
    List<String> names = List.of("synth", "tile", "embed", "import-features", "train",
        "collaborate", "evaluate", "report", "inspect", "demo");
    for (String a : args) {
      if (names.contains(a)) {
        return "tessera " + a;
      }
    }
    return "tessera";
  }

  /** {@code args} with a subcommand name in front (for the per-stage main classes). */
  public static String[] prepend(String command, String[] args) {
    String[] all = new String[args.length + 1];
    all[0] = command;
    System.arraycopy(args, 0, all, 1, args.length);
    return all;
  }

  /** The version from the jar manifest when packaged. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = TesseraCli.class.getPackage().getImplementationVersion();
      return new String[] {"tessera " + (v == null ? "development build" : v)};
    }
  }
}
