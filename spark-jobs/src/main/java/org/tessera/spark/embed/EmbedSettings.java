package org.tessera.spark.embed;

import java.io.Serializable;

/**
 * Options of one embed run.
 *
 * @param encoder      {@code resnet50-trunc}, {@code small-cnn}, {@code onnx}, or a model file path
 * @param weights      weights file for a named architecture, or the .onnx model; empty for none
 * @param cutLayer     for a model file: the layer whose activations are the features
 * @param randomInit   use seeded random weights (tests, demo) instead of a weights file
 * @param seed         seed for random weights
 * @param inputSize    network input edge in pixels; 0 = the encoder's default
 * @param batch        tiles per forward pass
 * @param stainNorm    {@code none}, {@code macenko} or {@code reinhard}
 * @param stainReference image the stain normalizer is fitted to; empty for the built-in reference
 * @param tilesPerTask slides with more tiles are split into tasks of this many tiles
 * @param overwrite    redo slides that are already done
 * @param cacheDir     executor-local folder for copies of slides on non-local file systems
 * @param halfPrecision run the encoder in 16-bit floats (see {@code EncoderRequest})
 * @param onnx         for {@code onnx}: overrides of the model config
 * @param reader       which implementation reads the slides' pixels
 */
public record EmbedSettings(
    String encoder,
    String weights,
    String cutLayer,
    boolean randomInit,
    long seed,
    int inputSize,
    int batch,
    String stainNorm,
    String stainReference,
    int tilesPerTask,
    boolean overwrite,
    String cacheDir,
    boolean halfPrecision,
    Onnx onnx,
    org.tessera.wsi.ReaderKind reader) implements Serializable {

  private static final long serialVersionUID = 1L;

  /**
   * What {@code --encoder onnx} takes besides the model; empty strings leave the model config's
   * value (see {@code OnnxEncoder}).
   *
   * @param config  model config JSON; empty for the one beside the model
   * @param output  output holding the embedding
   * @param pooling {@code cls}, {@code mean} or {@code cls+mean} for token outputs
   * @param mean    per-channel mean, {@code R,G,B}
   * @param std     per-channel std, {@code R,G,B}
   */
  public record Onnx(String config, String output, String pooling, String mean, String std)
      implements Serializable {
    private static final long serialVersionUID = 1L;

    public static final Onnx NONE = new Onnx("", "", "", "", "");

    public Onnx {
      java.util.Objects.requireNonNull(config, "config");
      java.util.Objects.requireNonNull(output, "output");
      java.util.Objects.requireNonNull(pooling, "pooling");
      java.util.Objects.requireNonNull(mean, "mean");
      java.util.Objects.requireNonNull(std, "std");
    }

    boolean isNone() {
      return equals(NONE);
    }
  }

  /** Settings of an encoder other than ONNX. */
  public EmbedSettings(String encoder, String weights, String cutLayer, boolean randomInit,
      long seed, int inputSize, int batch, String stainNorm, String stainReference,
      int tilesPerTask, boolean overwrite, String cacheDir, boolean halfPrecision) {
    this(encoder, weights, cutLayer, randomInit, seed, inputSize, batch, stainNorm,
        stainReference, tilesPerTask, overwrite, cacheDir, halfPrecision, Onnx.NONE);
  }

  /** Settings that read slides with {@code ReaderKind.AUTO}. */
  public EmbedSettings(String encoder, String weights, String cutLayer, boolean randomInit,
      long seed, int inputSize, int batch, String stainNorm, String stainReference,
      int tilesPerTask, boolean overwrite, String cacheDir, boolean halfPrecision, Onnx onnx) {
    this(encoder, weights, cutLayer, randomInit, seed, inputSize, batch, stainNorm,
        stainReference, tilesPerTask, overwrite, cacheDir, halfPrecision, onnx,
        org.tessera.wsi.ReaderKind.AUTO);
  }

  /** Full-precision settings. */
  public EmbedSettings(String encoder, String weights, String cutLayer, boolean randomInit,
      long seed, int inputSize, int batch, String stainNorm, String stainReference,
      int tilesPerTask, boolean overwrite, String cacheDir) {
    this(encoder, weights, cutLayer, randomInit, seed, inputSize, batch, stainNorm,
        stainReference, tilesPerTask, overwrite, cacheDir, false);
  }

  public EmbedSettings {
    if (batch < 1 || batch > 4096) {
      throw new IllegalArgumentException("--batch must be 1..4096, got " + batch);
    }
    if (tilesPerTask < 1) {
      throw new IllegalArgumentException("--tiles-per-task must be >= 1, got " + tilesPerTask);
    }
    if (inputSize < 0) {
      throw new IllegalArgumentException("--input-size must be positive, got " + inputSize);
    }
    java.util.Objects.requireNonNull(onnx, "onnx");
    if (!onnx.isNone() && !org.tessera.core.nn.Encoders.ONNX.equals(encoder)) {
      throw new IllegalArgumentException("--onnx-config, --onnx-output, --pooling, --mean and "
          + "--std apply to --encoder onnx only, not " + encoder);
    }
  }
}
