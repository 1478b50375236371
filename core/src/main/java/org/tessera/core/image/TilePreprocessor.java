package org.tessera.core.image;

import java.io.Serializable;
import java.util.Objects;

/**
 * Turns RGB tiles into the float input of a CNN encoder: resize to the encoder's input edge,
 * optionally normalise the stain, scale to [0, 1] and standardise each channel, written straight
 * into a slot of an NCHW batch buffer, so batches need no intermediate float arrays.
 *
 * <p>The value written for an 8-bit channel value {@code c} is, in single precision with each
 * operation rounded as IEEE 754 float does, {@code (c / 255f - mean) / std}: in NumPy,
 * {@code (np.float32(c) / np.float32(255) - np.float32(mean)) / np.float32(std)}. Since {@code c}
 * takes 256 values, the results are tabulated once per channel; a tile then costs one table
 * lookup per value.
 *
 * <p>Resizing (only when the tile is not already {@code S x S}) is {@link Resampler}'s exact area
 * average when shrinking and bilinear when enlarging; it happens before stain normalisation, so
 * the normaliser sees what the network sees and works on fewer pixels.
 *
 * <p>Immutable and thread-safe. Ship the {@link Config} to executors and build one instance per
 * JVM or task.
 */
public final class TilePreprocessor {
  private final Config config;
  private final int size;
  private final int plane;
  private final float[] red;
  private final float[] green;
  private final float[] blue;

  /** Three per-channel values in red, green, blue order. */
  public record PerChannel(float red, float green, float blue) implements Serializable {
    private static final long serialVersionUID = 1L;

    @Override
    public String toString() {
      return "[" + red + "," + green + "," + blue + "]";
    }

    /**
     * Three comma-separated numbers, e.g. {@code 0.485,0.456,0.406} (brackets allowed, as
     * {@link #toString} writes them); {@code what} names the option in the error.
     */
    public static PerChannel parse(String text, String what) {
      String[] parts = text.strip().replaceAll("^\\[|\\]$", "").split(",");
      if (parts.length != 3) {
        throw new IllegalArgumentException(what + " '" + text + "': give three comma-separated "
            + "numbers (red,green,blue), e.g. 0.485,0.456,0.406");
      }
      float[] v = new float[3];
      for (int i = 0; i < 3; i++) {
        try {
          v[i] = Float.parseFloat(parts[i].strip());
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException(what + " '" + text + "': '" + parts[i].strip()
              + "' is not a number");
        }
      }
      return new PerChannel(v[0], v[1], v[2]);
    }
  }

  /**
   * @param inputSize       edge {@code S} of the square encoder input, in pixels
   * @param mean            per-channel mean subtracted from values scaled to [0, 1]
   * @param std             per-channel divisor after subtracting the mean
   * @param stainNormalizer applied after resizing; {@link StainNormalizers#none()} for none
   */
  public record Config(int inputSize, PerChannel mean, PerChannel std,
      StainNormalizer stainNormalizer) implements Serializable {
    private static final long serialVersionUID = 1L;

    /** ImageNet statistics on [0, 1] RGB, expected by torchvision-trained encoders. */
    public static final PerChannel IMAGENET_MEAN = new PerChannel(0.485f, 0.456f, 0.406f);

    public static final PerChannel IMAGENET_STD = new PerChannel(0.229f, 0.224f, 0.225f);

    /** OpenAI CLIP's statistics on [0, 1] RGB, expected by CLIP-trained encoders such as CONCH. */
    public static final PerChannel CLIP_MEAN = new PerChannel(0.48145466f, 0.4578275f, 0.40821073f);

    public static final PerChannel CLIP_STD = new PerChannel(0.26862954f, 0.26130258f, 0.27577711f);

    public Config {
      if (inputSize <= 0) {
        throw new IllegalArgumentException("tile preprocessing inputSize = " + inputSize
            + ": must be positive; use the encoder's input edge, e.g. 224");
      }
      Objects.requireNonNull(mean, "tile preprocessing mean");
      Objects.requireNonNull(std, "tile preprocessing std");
      Objects.requireNonNull(stainNormalizer,
          "tile preprocessing stainNormalizer (use StainNormalizers.none() for none)");
      float[] means = {mean.red(), mean.green(), mean.blue()};
      float[] stds = {std.red(), std.green(), std.blue()};
      String[] names = {"red", "green", "blue"};
      for (int c = 0; c < 3; c++) {
        if (!Float.isFinite(means[c])) {
          throw new IllegalArgumentException("tile preprocessing mean." + names[c] + " = "
              + means[c] + ": must be finite, e.g. ImageNet's " + IMAGENET_MEAN);
        }
        if (!(stds[c] > 0) || !Float.isFinite(stds[c])) {
          throw new IllegalArgumentException("tile preprocessing std." + names[c] + " = "
              + stds[c] + ": must be positive and finite, e.g. ImageNet's " + IMAGENET_STD);
        }
      }
    }

    /** ImageNet mean and std, no stain normalisation. */
    public static Config imagenet(int inputSize) {
      return new Config(inputSize, IMAGENET_MEAN, IMAGENET_STD, StainNormalizers.none());
    }

    /** Another encoder's statistics, e.g. CLIP's, no stain normalisation. */
    public static Config of(int inputSize, PerChannel mean, PerChannel std) {
      return new Config(inputSize, mean, std, StainNormalizers.none());
    }

    public Config withStainNormalizer(StainNormalizer normalizer) {
      return new Config(inputSize, mean, std, normalizer);
    }

    /**
     * Everything that determines the floats, for provenance, e.g. {@code
     * size=224,mean=[0.485,0.456,0.406],std=[0.229,0.224,0.225],stain=none}.
     */
    public String describe() {
      return "size=" + inputSize + ",mean=" + mean + ",std=" + std
          + ",stain=" + stainNormalizer.describe();
    }
  }

  public TilePreprocessor(Config config) {
    this.config = Objects.requireNonNull(config, "tile preprocessing config");
    this.size = config.inputSize();
    this.plane = size * size;
    this.red = table(config.mean().red(), config.std().red());
    this.green = table(config.mean().green(), config.std().green());
    this.blue = table(config.mean().blue(), config.std().blue());
  }

  public Config config() {
    return config;
  }

  /** Edge {@code S} of the tiles written. */
  public int inputSize() {
    return size;
  }

  /** Floats one tile occupies in a batch, {@code 3 * S * S}. */
  public int floatsPerTile() {
    return 3 * plane;
  }

  /**
   * Writes one tile into slot {@code index} of a {@code [B, 3, S, S]} float batch (row-major
   * NCHW: {@code batch[((index * 3 + channel) * S + y) * S + x]}), touching no other slot.
   *
   * @param rgb row-major packed 0xRRGGBB pixels (alpha ignored), {@code w * h} of them
   */
  public void toChw(int[] rgb, int w, int h, float[] batch, int index) {
    StainNormalizers.checkTile(rgb, w, h);
    Objects.requireNonNull(batch, "batch");
    int perTile = floatsPerTile();
    if (index < 0 || (long) (index + 1) * perTile > batch.length) {
      throw new IllegalArgumentException("batch slot index=" + index + " is outside a batch of "
          + batch.length + " floats, which holds " + batch.length / perTile + " tiles of 3x"
          + size + "x" + size + "; allocate B * " + perTile + " floats for B tiles");
    }
    int[] pixels = w == size && h == size ? rgb : Resampler.resize(rgb, w, h, size, size);
    StainNormalizer stain = config.stainNormalizer();
    if (stain != StainNormalizers.none()) {
      pixels = stain.normalize(pixels, size, size);
    }
    int r = index * perTile;
    int g = r + plane;
    int b = g + plane;
    for (int i = 0; i < plane; i++) {
      int p = pixels[i];
      batch[r + i] = red[(p >> 16) & 0xff];
      batch[g + i] = green[(p >> 8) & 0xff];
      batch[b + i] = blue[p & 0xff];
    }
  }

  private static float[] table(float mean, float std) {
    float[] t = new float[256];
    for (int c = 0; c < 256; c++) {
      t[c] = ((float) c / 255f - mean) / std;
    }
    return t;
  }
}
