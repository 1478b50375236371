package org.tessera.core.nn;

/**
 * The identity of an encoder for provenance: two feature sets are comparable only when their
 * specs are equal.
 *
 * @param name        architecture name ({@code resnet50-trunc}, {@code small-cnn}) or model file name
 * @param weightsSha256 SHA-256 of the weights file, or {@code random-init:<seed>} for random weights
 * @param cutLayer    layer the features are taken from (for models cut at a named layer)
 * @param inputSize   input edge in pixels
 * @param featureDim  feature length
 */
public record EncoderSpec(
    String name, String weightsSha256, String cutLayer, int inputSize, int featureDim) {
  public EncoderSpec {
    if (inputSize <= 0 || featureDim <= 0) {
      throw new IllegalArgumentException("encoder " + name + ": input size and feature dimension "
          + "must be positive, got " + inputSize + ", " + featureDim);
    }
  }
}
