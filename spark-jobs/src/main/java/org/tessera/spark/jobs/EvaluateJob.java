package org.tessera.spark.jobs;

import org.tessera.spark.cli.TesseraCli;

/** {@code spark-submit --class org.tessera.spark.jobs.EvaluateJob tessera.jar --run ...}. */
public final class EvaluateJob {
  private EvaluateJob() {}

  public static void main(String[] args) {
    TesseraCli.main(TesseraCli.prepend("evaluate", args));
  }
}
