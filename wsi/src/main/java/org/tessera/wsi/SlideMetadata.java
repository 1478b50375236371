package org.tessera.wsi;

import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * What a slide says about itself: pyramid, vendor, physical pixel size and raw properties.
 *
 * @param vendor           the format family detected by the reader (e.g. {@code aperio}, {@code generic-tiff})
 * @param levels           pyramid levels, index order, level 0 first
 * @param mppX             microns per level-0 pixel along x, when the file records it
 * @param mppY             microns per level-0 pixel along y, when the file records it
 * @param objectivePower   scanning objective magnification (e.g. 20, 40), when recorded
 * @param properties       every key/value property the reader exposes, unmodified
 * @param associatedImages names of the associated images (label, macro, thumbnail, ...)
 */
public record SlideMetadata(
    String vendor,
    List<LevelInfo> levels,
    OptionalDouble mppX,
    OptionalDouble mppY,
    OptionalDouble objectivePower,
    Map<String, String> properties,
    List<String> associatedImages) {

  public SlideMetadata {
    if (levels.isEmpty()) {
      throw new IllegalArgumentException("a slide needs at least one level");
    }
    levels = List.copyOf(levels);
    properties = Map.copyOf(properties);
    associatedImages = List.copyOf(associatedImages);
  }

  public int levelCount() {
    return levels.size();
  }

  public LevelInfo level(int index) {
    if (index < 0 || index >= levels.size()) {
      throw new IllegalArgumentException(
          "level " + index + " does not exist: the slide has levels 0.." + (levels.size() - 1));
    }
    return levels.get(index);
  }

  public long width() {
    return levels.get(0).width();
  }

  public long height() {
    return levels.get(0).height();
  }

  /**
   * Microns per level-0 pixel: the mean of x and y when both are recorded, else whichever is.
   */
  public OptionalDouble mpp() {
    if (mppX.isPresent() && mppY.isPresent()) {
      return OptionalDouble.of((mppX.getAsDouble() + mppY.getAsDouble()) / 2.0);
    }
    return mppX.isPresent() ? mppX : mppY;
  }

  /** A copy whose physical pixel size is the given one (used for {@code --assume-mpp}). */
  public SlideMetadata withMpp(double mpp) {
    return new SlideMetadata(vendor, levels, OptionalDouble.of(mpp), OptionalDouble.of(mpp),
        objectivePower, properties, associatedImages);
  }
}
