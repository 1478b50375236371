package org.tessera.spark.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import org.tessera.spark.io.TesseraKryo;
import picocli.CommandLine.Option;

/**
 * Spark options shared by every subcommand that runs a Spark application. Under
 * {@code spark-submit} the master and confs come from the submission; on the command line the
 * default is local mode on all cores. The serializer is Kryo with {@link TesseraKryo}'s
 * registrations unless a conf names another.
 */
public final class SparkOptions {
  private static final String[] MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_",
      "MALLOC_TOP_PAD_"};

  @Option(names = "--master",
      description = "Spark master URL (local[*], spark://host:7077, yarn, k8s://...). Default: the "
          + "one spark-submit set, else local[*].")
  String master;

  @Option(names = "--conf", paramLabel = "KEY=VALUE", mapFallbackValue = "",
      description = "Any Spark configuration, repeatable: --conf spark.executor.memory=4g")
  Map<String, String> conf = new LinkedHashMap<>();

  /** Creates (or joins, in a notebook) the SparkSession for a stage. */
  public SparkSession session(String appName) {
    SparkConf sc = new SparkConf();
    if (master != null) {
      sc.setMaster(master);
    } else if (!sc.contains("spark.master")) {
      sc.setMaster("local[*]");
    }
    if (!sc.contains("spark.app.name")) {
      sc.setAppName(appName);
    }
    sc.setIfMissing("spark.ui.showConsoleProgress", "false");
    sc.setIfMissing("spark.sql.parquet.compression.codec", "snappy");
    // Executors get bin/tessera's glibc malloc settings (see there), unless told otherwise.
    for (String key : MALLOC_ENV) {
      String value = System.getenv(key);
      if (value != null) {
        sc.setIfMissing("spark.executorEnv." + key, value);
      }
    }
    conf.forEach(sc::set);
    TesseraKryo.configure(sc);
    SparkSession session = SparkSession.builder().config(sc).getOrCreate();
    // A notebook's session was made before this: its serializer is what it is.
    String problem = TesseraKryo.problem(session.sparkContext().getConf());
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
    return session;
  }
}
