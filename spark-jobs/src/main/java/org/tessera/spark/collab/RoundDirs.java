package org.tessera.spark.collab;

import org.apache.hadoop.fs.Path;

/**
 * Where one EM round keeps its outputs under {@code RUN/round-<r>/}. Round 0 has only features,
 * head and its evaluation; later rounds add the E-step's pseudo-labels, the patches cut for them
 * and the M-step's encoder. Every step's output doubles as its completion mark, which is what
 * lets a stopped run resume at the last finished step.
 */
record RoundDirs(Path root, int round) {

  static RoundDirs of(Path run, int round) {
    return new RoundDirs(new Path(run, "round-" + round), round);
  }

  /** The E-step's table: {@code pseudo-labels.parquet}. */
  Path pseudoLabels() {
    return new Path(root, "pseudo-labels.parquet");
  }

  /** The E-step's summary, written after the table. */
  Path pseudoLabelSummary() {
    return new Path(root, "pseudo-labels.json");
  }

  /** The pseudo-labelled tiles' pixels, one Parquet file per slide. */
  Path patches() {
    return new Path(root, "patches");
  }

  /** The M-step's encoder, patch classifier and training history. */
  Path encoder() {
    return new Path(root, "encoder");
  }

  /**
   * The fine-tuned encoder's weights, named per round: Spark ships weight files to executors by
   * file name, and one application may embed with several rounds' encoders.
   */
  Path encoderWeights() {
    return new Path(encoder(), "encoder-round-" + round + ".safetensors");
  }

  /** The whole patch network, encoder and classifier: the next E-step's patch classifier. */
  Path patchNet() {
    return new Path(encoder(), "patch-net.safetensors");
  }

  /** The M-step's per-epoch history. */
  Path encoderHistory() {
    return new Path(encoder(), "history.jsonl");
  }

  /** The M-step's result, written last. */
  Path encoderResult() {
    return new Path(encoder(), "result.json");
  }

  /** The embed stage's output for this round's encoder. */
  Path features() {
    return new Path(root, "features");
  }

  /** The train stage's run (the evaluate stage writes its metrics.json there). */
  Path head() {
    return new Path(root, "head");
  }
}
