package org.tessera.wsi;

import java.util.Locale;

/**
 * Which implementation reads a slide's pixels.
 *
 * <ul>
 *   <li>{@code AUTO}: the direct TIFF reader for the layouts it fully understands (tiled JPEG
 *       Aperio and generic pyramidal TIFF), OpenSlide for everything else;
 *   <li>{@code DIRECT}: the direct reader only; a slide it does not understand fails to open,
 *       with the reason;
 *   <li>{@code OPENSLIDE}: OpenSlide only, as before the direct reader existed.
 * </ul>
 */
public enum ReaderKind {
  AUTO, DIRECT, OPENSLIDE;

  /** The option's spelling: {@code auto}, {@code direct}, {@code openslide}. */
  public String optionName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses {@code auto|direct|openslide}, case-insensitively. */
  public static ReaderKind parse(String value) {
    for (ReaderKind k : values()) {
      if (k.optionName().equalsIgnoreCase(value.trim())) {
        return k;
      }
    }
    throw new IllegalArgumentException("unknown reader '" + value
        + "': expected auto, direct or openslide");
  }
}
