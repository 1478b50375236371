package org.tessera.wsi.synth;

/**
 * What a synthetic cohort looks like. Every slide is derived from {@code seed} alone, so two runs
 * with equal parameters write identical labels and lesion masks (and, since libvips encodes
 * deterministically, identical slides), whatever {@code threads} is.
 *
 * @param slides         number of slides
 * @param seed           master seed
 * @param width          level-0 width of every slide, pixels
 * @param height         level-0 height of every slide, pixels
 * @param tumorFraction  share of slides that carry planted lesions (label {@code tumor}); with two or
 *                       more slides both classes always occur
 * @param aperioFraction share of slides written Aperio-flavoured ({@code .svs} with vendor
 *                       {@code aperio} and an MPP); the rest are generic tiled TIFFs without MPP.
 *                       Strictly between 0 and 1 it guarantees at least one of each when there are
 *                       two or more slides
 * @param mpp            microns per level-0 pixel recorded in Aperio-flavoured slides
 * @param jpegQuality    JPEG quality of the pyramid tiles, 1..100
 * @param tileSize       TIFF tile edge, pixels (a multiple of 16, as TIFF requires)
 * @param maskDownsample level-0 pixels per lesion-mask pixel along each axis
 * @param threads        slides rendered and encoded at the same time
 * @param lesionContrast how far lesion colour moves from normal tissue towards its dark purple
 *                       restaining, 0..1: 1 is obvious at a glance (and to an untrained CNN's
 *                       features); small values leave mostly the finer cell texture to tell
 *                       lesions apart, a harder cohort on which a trained encoder can show its worth
 */
public record CohortParams(
    int slides,
    long seed,
    int width,
    int height,
    double tumorFraction,
    double aperioFraction,
    double mpp,
    int jpegQuality,
    int tileSize,
    int maskDownsample,
    int threads,
    double lesionContrast) {

  /** Level-0 edges above this would no longer fit a classic (32-bit offset) TIFF comfortably. */
  public static final int MAX_EDGE = 200_000;
  /** Beyond this many pixels a slide risks outgrowing a classic TIFF even JPEG-compressed. */
  public static final long MAX_PIXELS = 1L << 31;

  public CohortParams {
    require(slides >= 1, "slides", slides, "must be >= 1");
    require(tileSize >= 16 && tileSize % 16 == 0, "tileSize", tileSize, "must be a positive multiple of 16");
    require(width >= tileSize && width <= MAX_EDGE, "width", width,
        "must be between tileSize (" + tileSize + ") and " + MAX_EDGE);
    require(height >= tileSize && height <= MAX_EDGE, "height", height,
        "must be between tileSize (" + tileSize + ") and " + MAX_EDGE);
    require((long) width * height <= MAX_PIXELS, "width*height", (long) width * height,
        "must be <= " + MAX_PIXELS + " (a classic TIFF cannot hold more)");
    require(tumorFraction > 0 && tumorFraction < 1, "tumorFraction", tumorFraction,
        "must be strictly between 0 and 1");
    require(aperioFraction >= 0 && aperioFraction <= 1, "aperioFraction", aperioFraction,
        "must be between 0 and 1");
    require(mpp > 0 && Double.isFinite(mpp), "mpp", mpp, "must be positive");
    require(jpegQuality >= 1 && jpegQuality <= 100, "jpegQuality", jpegQuality, "must be 1..100");
    require(maskDownsample >= 1, "maskDownsample", maskDownsample, "must be >= 1");
    require(threads >= 1, "threads", threads, "must be >= 1");
    require(lesionContrast >= 0 && lesionContrast <= 1, "lesionContrast", lesionContrast,
        "must be between 0 and 1");
  }

  /**
   * Twelve 4096x3072 slides at 0.5 µm/px: five pyramid levels each, small enough that a two-core
   * laptop generates the cohort in seconds.
   */
  public static CohortParams defaults() {
    return new CohortParams(12, 20240601L, 4096, 3072, 0.5, 0.5, 0.5, 85, 256, 16,
        Math.max(1, Runtime.getRuntime().availableProcessors()), 1.0);
  }

  public CohortParams withSlides(int n) {
    return new CohortParams(n, seed, width, height, tumorFraction, aperioFraction, mpp,
        jpegQuality, tileSize, maskDownsample, threads, lesionContrast);
  }

  public CohortParams withSeed(long s) {
    return new CohortParams(slides, s, width, height, tumorFraction, aperioFraction, mpp,
        jpegQuality, tileSize, maskDownsample, threads, lesionContrast);
  }

  public CohortParams withSize(int w, int h) {
    return new CohortParams(slides, seed, w, h, tumorFraction, aperioFraction, mpp,
        jpegQuality, tileSize, maskDownsample, threads, lesionContrast);
  }

  public CohortParams withThreads(int t) {
    return new CohortParams(slides, seed, width, height, tumorFraction, aperioFraction, mpp,
        jpegQuality, tileSize, maskDownsample, t, lesionContrast);
  }

  public CohortParams withLesionContrast(double c) {
    return new CohortParams(slides, seed, width, height, tumorFraction, aperioFraction, mpp,
        jpegQuality, tileSize, maskDownsample, threads, c);
  }

  private static void require(boolean ok, String key, Object value, String rule) {
    if (!ok) {
      throw new IllegalArgumentException("cohort parameter " + key + "=" + value + ": " + rule);
    }
  }
}
