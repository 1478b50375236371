package org.tessera.spark.cli;

import org.tessera.core.Errors;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of {@code bin/tessera} and of the fat jar. */
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

  public static void main(String[] args) {
    int code = execute(args);
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
    CommandLine cli = new CommandLine(new TesseraCli());
    cli.setExecutionExceptionHandler((ex, cmd, parsed) -> {
      if (ex instanceof IllegalArgumentException || ex instanceof java.io.IOException) {
        cmd.getErr().println("tessera " + cmd.getCommandName() + ": " + Errors.oneLine(ex));
        return 1;
      }
      throw ex;
    });
    return cli.execute(args);
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
