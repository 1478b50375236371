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
 * @param precision   {@code fp32}, or {@code fp16} when the network ran in half precision: the
 *                    features then differ in the third or fourth significant digit
 */
public record EncoderSpec(String name, String weightsSha256, String cutLayer, int inputSize,
    int featureDim, String precision) {

  /** A full-precision encoder. */
  public EncoderSpec(String name, String weightsSha256, String cutLayer, int inputSize,
      int featureDim) {
    this(name, weightsSha256, cutLayer, inputSize, featureDim, "fp32");
  }

  public EncoderSpec {
    if (!"fp32".equals(precision) && !"fp16".equals(precision)) {
      throw new IllegalArgumentException("encoder " + name + ": precision must be fp32 or fp16, "
          + "got " + precision);
    }
    if (inputSize <= 0 || featureDim <= 0) {
      throw new IllegalArgumentException("encoder " + name + ": input size and feature dimension "
          + "must be positive, got " + inputSize + ", " + featureDim);
    }
  }
}
