package org.tessera.spark.collab;

import java.io.IOException;
import java.io.Serializable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.tessera.core.nn.SafeTensors;
import org.tessera.core.optim.Losses;
import org.tessera.spark.tile.LocalSlides;

/**
 * The M-step's linear patch classifier as the next E-step uses it: softmax of {@code W f + b} on
 * a tile's features. Small (classes x feature size), so it travels to executors in a broadcast.
 */
record PatchClassifier(float[][] weight, float[] bias) implements Serializable {

  static final String WEIGHT = "classifier.weight";
  static final String BIAS = "classifier.bias";

  /**
   * Reads the classifier the M-step saved; a file on a non-local file system is read through a
   * copy in {@code cacheDir}.
   */
  static PatchClassifier read(Configuration conf, Path file, String cacheDir) throws IOException {
    java.nio.file.Path local = LocalSlides.localize(conf, file.toString(), cacheDir);
    try (SafeTensors t = SafeTensors.open(local)) {
      for (String key : new String[] {WEIGHT, BIAS}) {
        if (!t.contains(key)) {
          throw new IllegalArgumentException(file + " has no tensor " + key + ": it is not a "
              + "patch classifier saved by tessera collaborate");
        }
      }
      long[] shape = t.info(WEIGHT).shape();
      float[] w = t.floats(WEIGHT);
      float[] b = t.floats(BIAS);
      if (shape.length != 2 || b.length != shape[0]) {
        throw new IllegalArgumentException(file + ": " + WEIGHT + " must be [classes, features]"
            + " and " + BIAS + " [classes]");
      }
      float[][] rows = new float[(int) shape[0]][(int) shape[1]];
      for (int c = 0; c < rows.length; c++) {
        System.arraycopy(w, c * rows[c].length, rows[c], 0, rows[c].length);
      }
      return new PatchClassifier(rows, b);
    }
  }

  /** Class probabilities of one feature vector. */
  double[] probabilities(float[] features) {
    if (features.length != weight[0].length) {
      throw new IllegalArgumentException("features of size " + features.length + " but the "
          + "patch classifier takes " + weight[0].length + ": features from another encoder");
    }
    double[] z = new double[bias.length];
    for (int c = 0; c < z.length; c++) {
      double s = bias[c];
      for (int i = 0; i < features.length; i++) {
        s += (double) weight[c][i] * features[i];
      }
      z[c] = s;
    }
    return Losses.softmax(z);
  }
}
