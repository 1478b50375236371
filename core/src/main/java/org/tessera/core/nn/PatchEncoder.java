package org.tessera.core.nn;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A CNN that turns preprocessed tiles into feature vectors. One instance is loaded per executor
 * JVM and used by its tasks one batch at a time; implementations need not be thread-safe (callers
 * serialise {@link #embed}).
 */
public interface PatchEncoder extends AutoCloseable {

  /** What produced the features, recorded in the feature manifest and checked by later stages. */
  EncoderSpec spec();

  /** Edge of the square input the network expects, in pixels (e.g. 224). */
  default int inputSize() {
    return spec().inputSize();
  }

  /** Length of one feature vector (e.g. 1024). */
  default int featureDim() {
    return spec().featureDim();
  }

  /**
   * Features of a batch.
   *
   * @param batch float input {@code [B, 3, inputSize, inputSize]} (NCHW), already normalised
   * @return float features {@code [B, featureDim]}
   */
  INDArray embed(INDArray batch);

  @Override
  void close();
}
