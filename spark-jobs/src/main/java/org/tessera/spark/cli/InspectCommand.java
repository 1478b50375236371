package org.tessera.spark.cli;

import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import org.tessera.spark.io.Inspector;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "inspect", mixinStandardHelpOptions = true,
    description = "Print a JSON summary of a Tessera output folder or table: row counts, columns, "
        + "per-slide counts and statuses.")
final class InspectCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "PATH",
      description = "An output folder (e.g. a tile run's OUT) or one table in it (OUT/tiles).")
  String path;

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    SparkSession session = spark.session("tessera inspect");
    System.out.println(Inspector.pretty(Inspector.inspect(session, path)));
    return 0;
  }
}
