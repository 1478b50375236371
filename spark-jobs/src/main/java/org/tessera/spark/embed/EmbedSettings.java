package org.tessera.spark.embed;

import java.io.Serializable;

/**
 * Options of one embed run.
 *
 * @param encoder      {@code resnet50-trunc}, {@code small-cnn}, or a model file path
 * @param weights      weights file for a named architecture; empty for none
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
    org.tessera.wsi.ReaderKind reader) implements Serializable {

  private static final long serialVersionUID = 1L;

  /** Full-precision settings. */
  public EmbedSettings(String encoder, String weights, String cutLayer, boolean randomInit,
      long seed, int inputSize, int batch, String stainNorm, String stainReference,
      int tilesPerTask, boolean overwrite, String cacheDir) {
    this(encoder, weights, cutLayer, randomInit, seed, inputSize, batch, stainNorm,
        stainReference, tilesPerTask, overwrite, cacheDir, false);
  }

  /** Settings that read slides with {@code ReaderKind.AUTO}. */
  public EmbedSettings(String encoder, String weights, String cutLayer, boolean randomInit,
      long seed, int inputSize, int batch, String stainNorm, String stainReference,
      int tilesPerTask, boolean overwrite, String cacheDir, boolean halfPrecision) {
    this(encoder, weights, cutLayer, randomInit, seed, inputSize, batch, stainNorm,
        stainReference, tilesPerTask, overwrite, cacheDir, halfPrecision,
        org.tessera.wsi.ReaderKind.AUTO);
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
  }
}
