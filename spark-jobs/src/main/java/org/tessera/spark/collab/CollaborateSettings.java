package org.tessera.spark.collab;

import org.tessera.core.collab.PseudoLabeler;
import org.tessera.core.optim.OptimizerConfig;
import org.tessera.spark.train.HeadOptions;

/**
 * Options of one collaborative (BCL) run.
 *
 * @param tiles          tile stage output (OUT)
 * @param labels         labels CSV: {@code slide_id,label[,patient_id][,split]}
 * @param out            RUN folder
 * @param rounds         EM rounds after round 0 (each: E-step, encoder M-step, re-embed, head)
 * @param workers        data-parallel width of head training and of the encoder M-step
 * @param seed           seed of everything random (initial weights, splits, shuffles)
 * @param encoder        {@code small-cnn} or {@code resnet50-trunc}
 * @param weights        safetensors state_dict to start the encoder from; empty with randomInit
 * @param randomInit     start from seeded random encoder weights
 * @param inputSize      encoder input edge; 0: the architecture's default
 * @param embedBatch     tiles per forward pass when embedding
 * @param stainNorm      {@code none}, {@code macenko} or {@code reinhard}, for embedding and patches
 * @param head           the MIL head trained every round
 * @param headOptimizer  its optimizer
 * @param headLoop       its epochs and patience
 * @param positiveClass  two classes: the class whose top tiles are lesion; empty: the second
 * @param negativeClass  more classes: the lesion-free class; empty: an extra background class
 * @param schedule       share of each slide's tiles pseudo-labelled per round
 * @param patchEpochs    encoder M-step epochs at most
 * @param patchPatience  epochs without a better holdout loss before the M-step stops
 * @param patchBatch     global batch of patches per step (split over the workers)
 * @param shards         virtual shards the patches are spread over; the global batch takes
 *                       patchBatch / shards from each, so results do not depend on the number of
 *                       workers as long as it divides the shards
 * @param patchOptimizer optimizer of the encoder and patch classifier
 * @param masks          lesion masks folder for localisation; empty: found beside the slides
 * @param cacheDir       executor-local cache for slides on remote file systems
 * @param reader         which implementation reads the slides' pixels
 */
public record CollaborateSettings(String tiles, String labels, String out, int rounds,
    int workers, long seed, String encoder, String weights, boolean randomInit, int inputSize,
    int embedBatch, String stainNorm, HeadOptions head, OptimizerConfig headOptimizer,
    org.tessera.core.train.TrainLoop.Settings headLoop, String positiveClass,
    String negativeClass, PseudoLabeler.Schedule schedule, int patchEpochs, int patchPatience,
    int patchBatch, int shards, OptimizerConfig patchOptimizer, String masks, String cacheDir,
    org.tessera.wsi.ReaderKind reader) {

  /** Settings that read slides with {@code ReaderKind.AUTO}. */
  public CollaborateSettings(String tiles, String labels, String out, int rounds,
      int workers, long seed, String encoder, String weights, boolean randomInit, int inputSize,
      int embedBatch, String stainNorm, HeadOptions head, OptimizerConfig headOptimizer,
      org.tessera.core.train.TrainLoop.Settings headLoop, String positiveClass,
      String negativeClass, PseudoLabeler.Schedule schedule, int patchEpochs, int patchPatience,
      int patchBatch, int shards, OptimizerConfig patchOptimizer, String masks, String cacheDir) {
    this(tiles, labels, out, rounds, workers, seed, encoder, weights, randomInit, inputSize,
        embedBatch, stainNorm, head, headOptimizer, headLoop, positiveClass, negativeClass,
        schedule, patchEpochs, patchPatience, patchBatch, shards, patchOptimizer, masks, cacheDir,
        org.tessera.wsi.ReaderKind.AUTO);
  }

  public CollaborateSettings {
    if (rounds < 0) {
      throw new IllegalArgumentException("--rounds must be >= 0, got " + rounds);
    }
    if (workers < 1) {
      throw new IllegalArgumentException("--workers must be >= 1, got " + workers);
    }
    if (!encoder.equals("small-cnn") && !encoder.equals("resnet50-trunc")) {
      throw new IllegalArgumentException("--encoder " + encoder + ": the collaborative loop "
          + "fine-tunes small-cnn or resnet50-trunc");
    }
    if (weights.isEmpty() == !randomInit) {
      throw new IllegalArgumentException("pass exactly one of --weights FILE.safetensors and "
          + "--random-init for the starting encoder");
    }
    if (patchEpochs < 1 || patchPatience < 1) {
      throw new IllegalArgumentException("--patch-epochs and --patch-patience must be >= 1");
    }
    if (shards < 1 || patchBatch < shards || patchBatch % shards != 0) {
      throw new IllegalArgumentException("--patch-batch (" + patchBatch + ") must be a positive "
          + "multiple of --shards (" + shards + ")");
    }
    if (shards < workers) {
      throw new IllegalArgumentException("--shards (" + shards + ") must be >= --workers ("
          + workers + "): each worker trains on whole shards");
    }
  }

  /** Patches each shard gives to one global batch. */
  int perShard() {
    return patchBatch / shards;
  }
}
