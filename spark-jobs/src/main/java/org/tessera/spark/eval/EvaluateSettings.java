package org.tessera.spark.eval;

import org.tessera.core.eval.Evaluation;

/**
 * Options of one evaluation.
 *
 * @param run       RUN folder written by the train stage
 * @param threshold binary tasks: {@code youden} or {@code max-f1} (chosen on each fold's val
 *                  predictions), or a fixed class-1 probability such as {@code 0.5}
 * @param bootstrap replicates for the 95% intervals, 0 for none
 * @param seed      seeds the bootstrap; null: the run's training seed
 * @param masks     folder holding {@code masks.json} and one lesion mask PNG per slide; empty:
 *                  look beside the slides and the labels file
 * @param tileSize  tile edge in level-0 pixels for localisation; 0: from the tile stage's output
 *                  the features were made from (imported features have none)
 */
public record EvaluateSettings(String run, String threshold, int bootstrap, Long seed,
    String masks, int tileSize) {

  public EvaluateSettings {
    if (run == null || run.isBlank()) {
      throw new IllegalArgumentException("--run is empty: pass the folder tessera train wrote");
    }
    if (!Evaluation.THRESHOLD_METHODS.contains(threshold)) {
      double p = fixedThreshold(threshold);
      if (!(p >= 0 && p <= 1)) {
        throw new IllegalArgumentException("--threshold " + threshold + " is not youden, max-f1"
            + " or a probability in [0, 1]");
      }
    }
    if (bootstrap < 0) {
      throw new IllegalArgumentException("--bootstrap must be >= 0 (0: no intervals), got "
          + bootstrap);
    }
    if (tileSize < 0) {
      throw new IllegalArgumentException("--tile-size must be > 0 (level-0 pixels), got "
          + tileSize);
    }
    masks = masks == null ? "" : masks;
  }

  /** The fixed probability {@code threshold} names, or NaN when it names a method. */
  static double fixedThreshold(String threshold) {
    if (Evaluation.THRESHOLD_METHODS.contains(threshold)) {
      return Double.NaN;
    }
    try {
      return Double.parseDouble(threshold);
    } catch (NumberFormatException e) {
      return Double.NaN;
    }
  }
}
