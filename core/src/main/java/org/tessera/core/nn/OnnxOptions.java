package org.tessera.core.nn;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import org.tessera.core.image.TilePreprocessor.PerChannel;

/**
 * How to use an ONNX patch encoder, beyond what its model config (the JSON beside the model)
 * says; every present value overrides the config's. See {@link OnnxEncoder}.
 *
 * @param config  model config file; empty to look beside the model ({@code model.onnx.json}, then
 *                {@code model.json})
 * @param output  name of the output holding the embedding
 * @param pooling for a token output {@code [N, T, D]}: {@code cls}, {@code mean} or
 *                {@code cls+mean}
 * @param mean    per-channel mean on [0, 1] RGB
 * @param std     per-channel std on [0, 1] RGB
 * @param device  where the session runs
 */
public record OnnxOptions(Optional<Path> config, Optional<String> output, Optional<String> pooling,
    Optional<PerChannel> mean, Optional<PerChannel> std, OnnxDevice device) {

  public OnnxOptions {
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(output, "output");
    Objects.requireNonNull(pooling, "pooling");
    Objects.requireNonNull(mean, "mean");
    Objects.requireNonNull(std, "std");
    Objects.requireNonNull(device, "device");
  }

  /** The model config beside the model, on the CPU with one thread. */
  public static OnnxOptions defaults() {
    return new OnnxOptions(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
        Optional.empty(), OnnxDevice.cpu(1));
  }

  public OnnxOptions withDevice(OnnxDevice d) {
    return new OnnxOptions(config, output, pooling, mean, std, d);
  }

  public OnnxOptions withConfig(Path file) {
    return new OnnxOptions(Optional.of(file), output, pooling, mean, std, device);
  }

  public OnnxOptions withOutput(String name) {
    return new OnnxOptions(config, Optional.of(name), pooling, mean, std, device);
  }

  public OnnxOptions withPooling(String p) {
    return new OnnxOptions(config, output, Optional.of(p), mean, std, device);
  }

  public OnnxOptions withNormalization(PerChannel m, PerChannel s) {
    return new OnnxOptions(config, output, pooling, Optional.ofNullable(m), Optional.ofNullable(s),
        device);
  }
}
