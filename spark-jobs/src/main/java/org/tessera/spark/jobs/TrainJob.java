package org.tessera.spark.jobs;

import org.tessera.spark.cli.TesseraCli;

/** {@code spark-submit --class org.tessera.spark.jobs.TrainJob tessera.jar --features ... --labels ... --model ... --out ...}. */
public final class TrainJob {
  private TrainJob() {}

  public static void main(String[] args) {
    TesseraCli.main(TesseraCli.prepend("train", args));
  }
}
