package org.tessera.wsi;

/**
 * One pyramid level as the slide library reports it.
 *
 * @param index      level number, 0 = full resolution
 * @param width      width in pixels at this level
 * @param height     height in pixels at this level
 * @param downsample factor from level 0 to this level (1.0 for level 0); not always a power of two
 */
public record LevelInfo(int index, long width, long height, double downsample) {
  public LevelInfo {
    if (index < 0 || width <= 0 || height <= 0 || !(downsample >= 1.0 - 1e-9)) {
      throw new IllegalArgumentException(
          "invalid level " + index + ": " + width + "x" + height + " downsample " + downsample);
    }
  }
}
