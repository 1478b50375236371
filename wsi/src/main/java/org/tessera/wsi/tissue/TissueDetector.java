package org.tessera.wsi.tissue;

import java.awt.image.BufferedImage;

/**
 * Finds tissue on a slide thumbnail the way CLAM does, so tiles are cut only where there is
 * something to learn from: HSV saturation, median blur, threshold (Otsu or fixed; with hysteresis
 * down to a low threshold), morphological closing, hole filling, and removal of debris-sized
 * components. Pure Java: executors need no OpenCV.
 */
public final class TissueDetector {
  private TissueDetector() {}

  /**
   * @param thumbnail  the slide at some low resolution; alpha is ignored, so pixels outside the
   *                   scanned area read as their stored colour (black or white), which has no
   *                   saturation and counts as glass
   * @param downsample level-0 pixels per thumbnail pixel
   */
  public static TissueMask detect(BufferedImage thumbnail, double downsample, TissueParams params) {
    int w = thumbnail.getWidth();
    int h = thumbnail.getHeight();
    return detect(thumbnail.getRGB(0, 0, w, h, null, 0, w), w, h, downsample, params);
  }

  /**
   * @param rgb        packed 0xRRGGBB pixels, row-major, {@code width * height} (alpha ignored)
   * @param downsample level-0 pixels per thumbnail pixel
   */
  public static TissueMask detect(int[] rgb, int width, int height, double downsample,
      TissueParams params) {
    if (width <= 0 || height <= 0 || rgb.length != (long) width * height) {
      throw new IllegalArgumentException("thumbnail has " + rgb.length + " pixels, expected "
          + width + "x" + height);
    }
    if (!(downsample > 0) || Double.isInfinite(downsample)) {
      throw new IllegalArgumentException("downsample must be positive and finite, got " + downsample);
    }
    byte[] sat = SaturationFilters.median(SaturationFilters.saturation(rgb), width, height,
        params.medianKernel());
    int low = params.lowThreshold();
    int high = params.threshold() == TissueParams.OTSU
        ? Math.max(low, SaturationFilters.otsu(SaturationFilters.histogram(sat)))
        : params.threshold();
    boolean[] mask = SaturationFilters.hysteresis(sat, width, height, high, low);
    mask = BinaryMorphology.close(mask, width, height, params.closeKernel());
    double pixelArea = downsample * downsample;
    if (params.fillHoles()) {
      long maxFill = params.minHoleArea() == 0
          ? Long.MAX_VALUE
          : (long) Math.ceil(params.minHoleArea() / pixelArea);
      BinaryMorphology.fillHoles(mask, width, height, maxFill);
    }
    BinaryMorphology.removeSmall(mask, width, height,
        (long) Math.ceil(params.minTissueArea() / pixelArea));
    return new TissueMask(width, height, downsample, mask, high);
  }
}
