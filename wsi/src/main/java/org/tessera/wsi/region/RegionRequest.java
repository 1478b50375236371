package org.tessera.wsi.region;

/**
 * A rectangle to read: top-left in level-0 coordinates (as OpenSlide addresses regions), size in
 * pixels at {@code level}.
 */
public record RegionRequest(long x, long y, int level, int width, int height) {
  public RegionRequest {
    if (level < 0) {
      throw new IllegalArgumentException("level must be >= 0, got " + level);
    }
    if (width <= 0 || height <= 0) {
      throw new IllegalArgumentException("region size must be positive, got " + width + "x" + height);
    }
  }

  public static RegionRequest of(long x, long y, int level, int width, int height) {
    return new RegionRequest(x, y, level, width, height);
  }

  public RegionRequest withLevel(int newLevel) {
    return new RegionRequest(x, y, newLevel, width, height);
  }

  public RegionRequest withSize(int newWidth, int newHeight) {
    return new RegionRequest(x, y, level, newWidth, newHeight);
  }
}
