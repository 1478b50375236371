package org.tessera.spark.jobs;

import org.tessera.spark.cli.TesseraCli;

/**
 * {@code spark-submit --class org.tessera.spark.jobs.ImportFeaturesJob tessera.jar --h5 DIR --out
 * FEAT}.
 */
public final class ImportFeaturesJob {
  private ImportFeaturesJob() {}

  public static void main(String[] args) {
    TesseraCli.main(TesseraCli.prepend("import-features", args));
  }
}
