package org.tessera.spark.train;

import java.util.List;
import org.tessera.core.optim.OptimizerConfig;
import org.tessera.core.train.TrainLoop;

/**
 * Options of one train run.
 *
 * @param features       FEAT folder (embed or import-features output)
 * @param labels         labels CSV: {@code slide_id,label[,patient_id][,split]}
 * @param out            RUN folder
 * @param classes        class names in index order; empty: the sorted labels
 * @param workers        data-parallel width: partitions the bags are spread over
 * @param seed           seed of initialisation, splits, shuffling and dropout
 * @param folds          0: the CSV's splits, or a patient-grouped hold-out when it has none;
 *                       k >= 2: stratified k-fold cross-validation, one model per fold
 * @param valFraction    share of training patients held out for early stopping when no val
 *                       split is given
 * @param bagsPerStep    bags whose gradients are averaged in one step
 * @param expectEncoder  refuse features whose manifest names another encoder; empty: any
 * @param head           the head and its loss, before the feature size and classes are known
 * @param optimizer      optimizer, schedule and clipping; a cosine schedule whose total is
 *                       {@link #WHOLE_RUN} spans the split's epochs x steps per epoch
 * @param loop           epochs, patience, checkpoint interval
 * @param overwrite      delete an existing RUN made with other settings instead of refusing
 */
public record TrainSettings(String features, String labels, String out, List<String> classes,
    int workers, long seed, int folds, double valFraction, int bagsPerStep,
    String expectEncoder, HeadOptions head, OptimizerConfig optimizer, TrainLoop.Settings loop,
    boolean overwrite) {

  /** A cosine schedule's total steps meaning "every step of the run", resolved per split. */
  public static final long WHOLE_RUN = Long.MAX_VALUE;

  public TrainSettings {
    if (workers < 1) {
      throw new IllegalArgumentException("--workers must be >= 1, got " + workers);
    }
    if (folds < 0 || folds == 1) {
      throw new IllegalArgumentException("--folds must be 0 (no cross-validation) or >= 2, got "
          + folds);
    }
    if (!(valFraction > 0 && valFraction < 1)) {
      throw new IllegalArgumentException("--val-fraction must be in (0, 1), got " + valFraction);
    }
    if (bagsPerStep < 1) {
      throw new IllegalArgumentException("--bags-per-step must be >= 1, got " + bagsPerStep);
    }
    classes = List.copyOf(classes);
  }
}
