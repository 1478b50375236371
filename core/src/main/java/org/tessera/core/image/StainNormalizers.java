package org.tessera.core.image;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Picks a stain normaliser by the name a user gives on the command line ({@code --stain-norm}),
 * and holds the rules the normalisers share.
 */
public final class StainNormalizers {
  /** The accepted names, in the order help texts list them. */
  public static final List<String> NAMES = List.of("none", "macenko", "reinhard");

  /**
   * Tiles with fewer tissue pixels than this (or than 1% of the tile, whichever is more) are left
   * unchanged: percentiles and standard deviations of a handful of pixels are noise, and a
   * normaliser driven by them would recolour the tile arbitrarily.
   */
  static final int MIN_TISSUE_PIXELS = 64;

  private StainNormalizers() {}

  /** The normaliser that changes nothing (the default: normalisation is opt-in). */
  public static StainNormalizer none() {
    return None.INSTANCE;
  }

  /**
   * The normaliser called {@code name}, with its built-in reference, or fitted to {@code
   * reference} when one is given.
   *
   * @throws IllegalArgumentException for an unknown name, for {@code none} with a reference
   *     image, or when the reference image cannot be fitted
   */
  public static StainNormalizer byName(String name, Optional<RgbImage> reference) {
    String key = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
    switch (key) {
      case "none":
        if (reference.isPresent()) {
          throw new IllegalArgumentException("stain normalisation 'none' takes no reference "
              + "image: drop the reference or choose macenko or reinhard");
        }
        return none();
      case "macenko":
        return reference
            .map(r -> MacenkoNormalizer.fit(r.pixels(), r.width(), r.height()))
            .orElseGet(MacenkoNormalizer::defaults);
      case "reinhard":
        return reference
            .map(r -> ReinhardNormalizer.fit(r.pixels(), r.width(), r.height()))
            .orElseGet(ReinhardNormalizer::defaults);
      default:
        throw new IllegalArgumentException("unknown stain normalisation '" + name
            + "' (--stain-norm): use one of " + String.join(", ", NAMES));
    }
  }

  static int minTissuePixels(int pixelCount) {
    return Math.max(MIN_TISSUE_PIXELS, (pixelCount + 99) / 100);
  }

  static void checkTile(int[] rgb, int w, int h) {
    if (w <= 0 || h <= 0) {
      throw new IllegalArgumentException(
          "tile size must be positive, got width=" + w + " height=" + h);
    }
    if (rgb == null || (long) w * h != rgb.length) {
      throw new IllegalArgumentException("tile of width=" + w + " height=" + h + " needs "
          + (long) w * h + " pixels, got " + (rgb == null ? "null" : rgb.length)
          + "; pass the tile's own width and height");
    }
  }

  /** The colours of {@code rgb} without alpha, so every normaliser returns the same format. */
  static int[] rgbCopy(int[] rgb) {
    int[] out = new int[rgb.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = rgb[i] & 0xffffff;
    }
    return out;
  }

  /** An enum so that the one instance stays the one instance after deserialisation. */
  private enum None implements StainNormalizer {
    INSTANCE;

    @Override
    public int[] normalize(int[] rgb, int w, int h) {
      checkTile(rgb, w, h);
      return rgbCopy(rgb);
    }

    @Override
    public String describe() {
      return "none";
    }
  }
}
