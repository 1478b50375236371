package org.tessera.spark.jobs;

import org.tessera.spark.cli.TesseraCli;

/** {@code spark-submit --class org.tessera.spark.jobs.EmbedJob tessera.jar --tiles ... --out ...}. */
public final class EmbedJob {
  private EmbedJob() {}

  public static void main(String[] args) {
    TesseraCli.main(TesseraCli.prepend("embed", args));
  }
}
