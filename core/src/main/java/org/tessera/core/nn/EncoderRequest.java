package org.tessera.core.nn;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * Which encoder to load, as the embed stage's options give it; see {@link Encoders#load}.
 *
 * @param model          an architecture ({@code resnet50-trunc}, {@code small-cnn}), {@code onnx}
 *                       (an ONNX model given as {@code weights}), or the path of a model file
 *                       (DL4J zip, Keras .h5)
 * @param weights        weights for an architecture: torchvision-style safetensors, or a DL4J zip
 *                       or Keras .h5 whose layers carry the architecture's names
 * @param cutLayer       layer whose activations are the features (global-average-pooled if they
 *                       are feature maps); defaults to the architecture's cut or the model's output
 * @param randomInitSeed use an untrained architecture with deterministic weights for this seed
 * @param inputSize      input edge in pixels; defaults to the architecture's, or the one a Keras
 *                       model records (DL4J zips do not record one, so they need it)
 * @param halfPrecision  run the network in 16-bit floats (parameters and activations), which
 *                       halves its memory and is faster on GPUs with half-precision units; the
 *                       features are returned as 32-bit floats either way
 * @param onnx           for {@code onnx}: the model config, its overrides and the device
 */
public record EncoderRequest(String model, Optional<Path> weights, Optional<String> cutLayer,
    OptionalLong randomInitSeed, OptionalInt inputSize, boolean halfPrecision, OnnxOptions onnx) {

  public EncoderRequest(String model, Optional<Path> weights, Optional<String> cutLayer,
      OptionalLong randomInitSeed, OptionalInt inputSize, boolean halfPrecision) {
    this(model, weights, cutLayer, randomInitSeed, inputSize, halfPrecision,
        OnnxOptions.defaults());
  }

  public EncoderRequest {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(weights, "weights");
    Objects.requireNonNull(cutLayer, "cutLayer");
    Objects.requireNonNull(randomInitSeed, "randomInitSeed");
    Objects.requireNonNull(inputSize, "inputSize");
    Objects.requireNonNull(onnx, "onnx");
    if (inputSize.isPresent() && inputSize.getAsInt() <= 0) {
      throw new IllegalArgumentException("input size must be positive, got "
          + inputSize.getAsInt());
    }
  }

  /** An architecture name or model file path with everything else defaulted. */
  public static EncoderRequest of(String model) {
    return new EncoderRequest(model, Optional.empty(), Optional.empty(), OptionalLong.empty(),
        OptionalInt.empty(), false);
  }

  public EncoderRequest withWeights(Path file) {
    return new EncoderRequest(model, Optional.of(file), cutLayer, randomInitSeed, inputSize, halfPrecision, onnx);
  }

  public EncoderRequest withCutLayer(String layer) {
    return new EncoderRequest(model, weights, Optional.of(layer), randomInitSeed, inputSize,
        halfPrecision, onnx);
  }

  public EncoderRequest withRandomInit(long seed) {
    return new EncoderRequest(model, weights, cutLayer, OptionalLong.of(seed), inputSize,
        halfPrecision, onnx);
  }

  public EncoderRequest withInputSize(int size) {
    return new EncoderRequest(model, weights, cutLayer, randomInitSeed, OptionalInt.of(size),
        halfPrecision, onnx);
  }

  /** The same request with the network run in 16-bit floats. */
  public EncoderRequest withHalfPrecision(boolean half) {
    return new EncoderRequest(model, weights, cutLayer, randomInitSeed, inputSize, half, onnx);
  }

  /** The same request with these ONNX options (config, overrides, device). */
  public EncoderRequest withOnnx(OnnxOptions options) {
    return new EncoderRequest(model, weights, cutLayer, randomInitSeed, inputSize, halfPrecision,
        options);
  }
}
