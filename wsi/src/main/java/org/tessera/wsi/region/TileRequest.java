package org.tessera.wsi.region;

/**
 * One square tile: read {@code sizeAtLevel}² pixels at {@code level} starting at level-0 pixel
 * ({@code x}, {@code y}) and deliver {@code outputSize}² pixels.
 */
public record TileRequest(int level, long x, long y, int sizeAtLevel, int outputSize) {
  public TileRequest {
    if (level < 0) {
      throw new IllegalArgumentException("level must be >= 0, got " + level);
    }
    if (sizeAtLevel <= 0 || outputSize <= 0) {
      throw new IllegalArgumentException(
          "tile sizes must be positive, got " + sizeAtLevel + " at level, " + outputSize + " out");
    }
  }

  public static TileRequest of(int level, long x, long y, int sizeAtLevel, int outputSize) {
    return new TileRequest(level, x, y, sizeAtLevel, outputSize);
  }

  public RegionRequest region() {
    return new RegionRequest(x, y, level, sizeAtLevel, sizeAtLevel);
  }

  public TileRequest withOutputSize(int newOutputSize) {
    return new TileRequest(level, x, y, sizeAtLevel, newOutputSize);
  }
}
