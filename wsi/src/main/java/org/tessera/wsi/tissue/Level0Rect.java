package org.tessera.wsi.tissue;

import java.io.Serializable;

/** An axis-aligned rectangle in level-0 pixel coordinates, e.g. a kept tile drawn on a QC image. */
public record Level0Rect(long x, long y, long width, long height) implements Serializable {
  public Level0Rect {
    if (width <= 0 || height <= 0) {
      throw new IllegalArgumentException("rectangle size must be positive, got " + width + "x" + height);
    }
  }
}
