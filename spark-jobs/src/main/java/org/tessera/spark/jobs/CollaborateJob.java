package org.tessera.spark.jobs;

import org.tessera.spark.cli.TesseraCli;

/** {@code spark-submit --class org.tessera.spark.jobs.CollaborateJob tessera.jar --tiles ... --labels ... --out ...}. */
public final class CollaborateJob {
  private CollaborateJob() {}

  public static void main(String[] args) {
    TesseraCli.main(TesseraCli.prepend("collaborate", args));
  }
}
