package org.tessera.wsi.tiling;

import java.io.Serializable;
import org.tessera.wsi.tissue.TissueParams;

/**
 * Everything that decides which tiles a slide yields. Part of the tile index's provenance: two runs
 * with equal parameters over the same slide give the same tiles.
 *
 * @param targetMpp      microns per pixel of delivered tiles
 * @param tileSize       delivered tile edge in pixels
 * @param stride         grid step in delivered pixels
 * @param minTissue      keep a tile when its tissue fraction is at least this (0..1)
 * @param segDownsample  wanted downsample of the image tissue is segmented on (e.g. 16)
 * @param assumeMpp      microns per level-0 pixel for slides whose metadata has none; null when
 *                       none is assumed (such slides fail)
 * @param tissue         tissue segmentation parameters
 */
public record TilingParams(
    double targetMpp,
    int tileSize,
    int stride,
    double minTissue,
    double segDownsample,
    Double assumeMpp,
    TissueParams tissue) implements Serializable {

  private static final long serialVersionUID = 1L;

  public TilingParams {
    if (!(targetMpp > 0) || Double.isInfinite(targetMpp)) {
      throw new IllegalArgumentException("--mpp must be a positive number of microns per pixel, got "
          + targetMpp);
    }
    if (tileSize < 16 || tileSize > 8192) {
      throw new IllegalArgumentException("--tile must be between 16 and 8192 pixels, got " + tileSize);
    }
    if (stride <= 0) {
      throw new IllegalArgumentException("--stride must be a positive number of pixels, got " + stride);
    }
    if (!(minTissue >= 0 && minTissue <= 1)) {
      throw new IllegalArgumentException("--min-tissue must be between 0 and 1, got " + minTissue);
    }
    if (!(segDownsample >= 1)) {
      throw new IllegalArgumentException("--seg-downsample must be >= 1, got " + segDownsample);
    }
    if (assumeMpp != null && !(assumeMpp > 0 && assumeMpp < Double.POSITIVE_INFINITY)) {
      throw new IllegalArgumentException("--assume-mpp must be a positive number, got "
          + assumeMpp);
    }
  }

  /** Microns per pixel at a nominal objective magnification (20x = 0.5 um/px, 40x = 0.25 um/px). */
  public static double mppForMagnification(double magnification) {
    if (!(magnification > 0) || Double.isInfinite(magnification)) {
      throw new IllegalArgumentException("--magnification must be positive, got " + magnification);
    }
    return 10.0 / magnification;
  }
}
