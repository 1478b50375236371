package org.tessera.spark.train;

import java.io.IOException;
import java.io.PrintStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.apache.spark.sql.SparkSession;
import org.tessera.spark.importer.ImportStage;

/**
 * A small feature cohort written the way users bring features (CSV through import-features):
 * background instances around 0; a tumour slide also holds a few instances shifted along the
 * first feature, the multiple-instance signal a head must find. Labels carry patients and, when
 * asked, a split column.
 */
public final class ToyFeatures {

  private ToyFeatures() {}

  /** Writes {@code dir/features.csv}, {@code dir/labels.csv} and imports into {@code dir/feat}. */
  public static Path write(SparkSession spark, Path dir, int slides, int dim, boolean splitColumn,
      long seed) throws IOException {
    Files.createDirectories(dir);
    SplittableRandom r = new SplittableRandom(seed);
    StringBuilder csv = new StringBuilder("slide_id,x,y");
    for (int j = 0; j < dim; j++) {
      csv.append(",f").append(j);
    }
    csv.append('\n');
    StringBuilder labels = new StringBuilder("slide_id,label,patient_id"
        + (splitColumn ? ",split" : "") + "\n");
    for (int s = 0; s < slides; s++) {
      String id = String.format("toy-%02d", s);
      boolean tumour = s % 2 == 1;
      int n = 12 + r.nextInt(30);
      int witnesses = tumour ? 2 + r.nextInt(3) : 0;
      for (int i = 0; i < n; i++) {
        csv.append(id).append(',').append(256 * (i % 7)).append(',').append(256 * (i / 7));
        for (int j = 0; j < dim; j++) {
          double v = 0.5 * r.nextGaussian() + (i < witnesses && j == 0 ? 3 : 0);
          csv.append(',').append((float) v);
        }
        csv.append('\n');
      }
      String split = s < slides * 6 / 10 ? "train" : s < slides * 8 / 10 ? "val" : "test";
      labels.append(id).append(',').append(tumour ? "tumor" : "normal").append(",p")
          .append(s).append(splitColumn ? "," + split : "").append('\n');
    }
    Files.writeString(dir.resolve("features.csv"), csv);
    Files.writeString(dir.resolve("labels.csv"), labels);
    Path feat = dir.resolve("feat");
    ImportStage.run(spark, ImportStage.Format.CSV, dir.resolve("features.csv").toString(),
        feat.toString(), false, new PrintStream(OutputStream.nullOutputStream()));
    return feat;
  }
}
