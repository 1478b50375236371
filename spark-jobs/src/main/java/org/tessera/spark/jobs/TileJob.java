package org.tessera.spark.jobs;

import org.tessera.spark.cli.TesseraCli;

/** {@code spark-submit --class org.tessera.spark.jobs.TileJob tessera.jar --slides ... --out ...}. */
public final class TileJob {
  private TileJob() {}

  public static void main(String[] args) {
    TesseraCli.main(TesseraCli.prepend("tile", args));
  }
}
