package org.tessera.spark.jobs;

import org.tessera.spark.cli.TesseraCli;

/** {@code spark-submit --class org.tessera.spark.jobs.ReportJob tessera.jar --run RUN}. */
public final class ReportJob {
  private ReportJob() {}

  public static void main(String[] args) {
    TesseraCli.main(TesseraCli.prepend("report", args));
  }
}
