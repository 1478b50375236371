package org.tessera.core.nn;

import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.tessera.core.image.TilePreprocessor;

/**
 * A network that turns preprocessed tiles into feature vectors. One instance is loaded per
 * executor JVM (per device, for ONNX encoders) and used by its tasks one batch at a time;
 * implementations need not be thread-safe unless {@link #concurrent} says so (callers serialise
 * {@link #embed} otherwise).
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

  /**
   * Features of the first {@code n} tiles of a row-major NCHW float batch, as {@code n *
   * featureDim} floats; {@code input} may be longer than the {@code n} tiles.
   */
  default float[] embed(float[] input, int n) {
    int per = 3 * inputSize() * inputSize();
    float[] used = input.length == n * per ? input : java.util.Arrays.copyOf(input, n * per);
    INDArray batch = Nd4j.create(used, new long[] {n, 3, inputSize(), inputSize()}, 'c');
    return embed(batch).castTo(DataType.FLOAT).data().asFloat();
  }

  /** Whether tasks may call {@link #embed} at the same time (ONNX Runtime sessions may). */
  default boolean concurrent() {
    return false;
  }

  /**
   * The input scaling the network was trained with: ImageNet statistics at {@link #inputSize}
   * unless the model says otherwise.
   */
  default TilePreprocessor.Config preprocessing() {
    return TilePreprocessor.Config.imagenet(inputSize());
  }

  /**
   * Facts about the model beyond {@link #spec} for the feature manifest (input and output names,
   * pooling, where its config came from); empty for the built-in architectures.
   */
  default Map<String, Object> provenance() {
    return Map.of();
  }

  /** Where this encoder runs when it decides so itself ({@code cuda:1}), or null. */
  default String device() {
    return null;
  }

  @Override
  void close();
}
