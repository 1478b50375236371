package org.tessera.core.image;

import java.io.Serializable;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.function.DoubleUnaryOperator;

/**
 * Macenko et al. (2009) stain normalisation for H&amp;E: estimate the tile's hematoxylin and eosin
 * optical-density vectors, unmix each pixel into the two stain concentrations, rescale the
 * concentrations to a reference's and re-render them with the reference stain vectors. Unlike a
 * colour-statistics transfer it changes the stain colours but keeps which structures hold which
 * stain, so a tile of mostly nuclei stays mostly hematoxylin.
 *
 * <p>Arithmetic, so that a NumPy reference can match (constants as in the reference implementation
 * by M. Veta, {@code mitkovetta/staining-normalization}, and its Python ports such as torchstain):
 * <ol>
 *   <li>{@code OD = -ln((I + 1) / 240)} per channel; {@code Io = 240} rather than 255 because
 *       brightfield scans put glass near 240, so background gets OD ~ 0 and the +1 keeps black
 *       finite.
 *   <li>Tissue: pixels with OD at least {@code beta = 0.15} in every channel (bright, faint pixels
 *       only add noise to the direction estimate).
 *   <li>Eigenvectors of the (mean-centred, n-1) covariance of the tissue ODs, by Jacobi; the two
 *       of largest eigenvalue span the stain plane. Each is signed to have a positive component
 *       sum (OD vectors are positive).
 *   <li>{@code phi = atan2(OD.v2, OD.v1)} per tissue pixel; NumPy-linear percentiles at {@code
 *       alpha = 1} and {@code 100 - alpha} give the two extreme directions {@code cos(phi) v1 +
 *       sin(phi) v2}, robust to a few outlier pixels.
 *   <li>Hematoxylin is the extreme with the larger red OD: hematoxylin is blue-purple and absorbs
 *       red light far more than pink eosin, which absorbs mostly green (the usual convention).
 *   <li>Concentrations by least squares {@code C = pinv([h e]) OD}; their 99th percentiles over
 *       the tissue pixels are the tile's maxima. (The reference implementation takes the
 *       percentile over all pixels; over tissue only, a tile's scale no longer depends on how
 *       much glass it shows.)
 *   <li>Output {@code I = 240 exp(-(h_ref c_h maxH_ref / maxH + e_ref c_e maxE_ref / maxE)) - 1},
 *       the exact inverse of step 1, rounded half up and clipped to [0, 255]. The reference
 *       implementations omit the {@code - 1}; with it a pixel that is an exact mix of the
 *       reference stains, in a tile that matches the reference, maps to itself. (Pixels whose OD
 *       is not such a mix, like glass brighter than 240, move to their projection onto the stain
 *       plane, as in the reference implementations.)
 * </ol>
 * Tiles where this cannot work (too few tissue pixels, a single colour, one stain missing) are
 * returned unchanged.
 *
 * @param reference the stain vectors and maximum concentrations tiles are mapped to
 */
public record MacenkoNormalizer(StainReference reference) implements StainNormalizer {
  private static final long serialVersionUID = 1L;

  /** Transmitted (glass) intensity in the optical-density definition. */
  public static final double IO = 240;

  /** Percentile (and 100 minus it) taken as the extreme stain directions. */
  public static final double ALPHA = 1;

  /** Minimum optical density, in every channel, of a pixel used for estimation. */
  public static final double BETA = 0.15;

  /**
   * A stain whose 99th-percentile concentration is below this is treated as absent from the tile:
   * scaling it up to a reference maximum near 1 would amplify noise twenty-fold or more.
   */
  static final double MIN_MAX_CONCENTRATION = 0.05;

  /**
   * The reference stain matrix and maximum concentrations of M. Veta's implementation, used
   * unchanged by most public Macenko implementations (HEnorm_python, torchstain): hematoxylin
   * (0.5626, 0.7201, 0.4062), eosin (0.2159, 0.8012, 0.5581), maxima 1.9705 and 1.0308.
   */
  public static final StainReference DEFAULT_REFERENCE = new StainReference(
      new StainVector(0.5626, 0.7201, 0.4062), new StainVector(0.2159, 0.8012, 0.5581),
      1.9705, 1.0308);

  /**
   * Stain vectors closer than this cannot be told apart: a tile with one stain only has a second
   * extreme direction made of rounding noise a degree or two from the first (the reference
   * hematoxylin and eosin are 22 degrees apart).
   */
  static final double MIN_STAIN_ANGLE_DEGREES = 5;

  /** Optical density of each 8-bit value; exact, since inputs are 8-bit. */
  private static final double[] OD = new double[256];

  /** Pixels whose largest channel is at most this have OD >= BETA in every channel. */
  private static final int TISSUE_MAX_VALUE;

  static {
    int tissueMax = -1;
    for (int v = 0; v < 256; v++) {
      OD[v] = -Math.log((v + 1) / IO);
      if (OD[v] >= BETA) {
        tissueMax = v;
      }
    }
    TISSUE_MAX_VALUE = tissueMax;
  }

  /** Optical density per unit concentration in red, green and blue. */
  public record StainVector(double red, double green, double blue) implements Serializable {
    private static final long serialVersionUID = 1L;

    public StainVector {
      if (!Double.isFinite(red) || !Double.isFinite(green) || !Double.isFinite(blue)
          || red * red + green * green + blue * blue == 0) {
        throw new IllegalArgumentException("stain vector (" + red + ", " + green + ", " + blue
            + ") must be finite and non-zero; give optical densities per unit concentration, "
            + "e.g. hematoxylin (0.5626, 0.7201, 0.4062)");
      }
    }

    /** The angle between the two directions, in degrees (0 to 180). */
    public double angleDegrees(StainVector other) {
      double dot = red * other.red + green * other.green + blue * other.blue;
      double cos = dot / (norm() * other.norm());
      return Math.toDegrees(Math.acos(Math.max(-1, Math.min(1, cos))));
    }

    double norm() {
      return Math.sqrt(red * red + green * green + blue * blue);
    }

    double[] toArray() {
      return new double[] {red, green, blue};
    }

    @Override
    public String toString() {
      return "[" + red + "," + green + "," + blue + "]";
    }
  }

  /**
   * Stain vectors and the 99th-percentile concentrations of a reference staining. Concentrations
   * are in units of the vectors' lengths (unit length for estimated and default vectors).
   */
  public record StainReference(StainVector hematoxylin, StainVector eosin,
      double maxHematoxylin, double maxEosin) implements Serializable {
    private static final long serialVersionUID = 1L;

    public StainReference {
      Objects.requireNonNull(hematoxylin, "hematoxylin stain vector");
      Objects.requireNonNull(eosin, "eosin stain vector");
      if (!(maxHematoxylin > 0 && maxEosin > 0)
          || !Double.isFinite(maxHematoxylin) || !Double.isFinite(maxEosin)) {
        throw new IllegalArgumentException("Macenko reference maxima maxHematoxylin="
            + maxHematoxylin + " maxEosin=" + maxEosin + " must be positive and finite; the "
            + "defaults are 1.9705 and 1.0308");
      }
      double angle = hematoxylin.angleDegrees(eosin);
      if (!(angle >= MIN_STAIN_ANGLE_DEGREES && angle <= 180 - MIN_STAIN_ANGLE_DEGREES)) {
        throw new IllegalArgumentException("Macenko reference stain vectors hematoxylin="
            + hematoxylin + " eosin=" + eosin + " are " + angle + " degrees apart; they must "
            + "be at least " + MIN_STAIN_ANGLE_DEGREES + " degrees apart to unmix two stains");
      }
    }
  }

  public MacenkoNormalizer {
    Objects.requireNonNull(reference, "Macenko stain reference");
  }

  /** Normalises towards {@link #DEFAULT_REFERENCE}. */
  public static MacenkoNormalizer defaults() {
    return new MacenkoNormalizer(DEFAULT_REFERENCE);
  }

  /**
   * Normalises towards the staining estimated from a reference image.
   *
   * @throws IllegalArgumentException when the image's stains cannot be estimated (too little
   *     tissue, a single colour, one stain missing)
   */
  public static MacenkoNormalizer fit(int[] rgb, int w, int h) {
    StainNormalizers.checkTile(rgb, w, h);
    Estimate e = analyse(rgb);
    if (e.problem != null) {
      throw new IllegalArgumentException("Macenko reference image (" + w + "x" + h + "): "
          + e.problem + "; choose a reference region of well-stained tissue with both "
          + "hematoxylin and eosin");
    }
    return new MacenkoNormalizer(e.toReference());
  }

  /**
   * The tile's own stain vectors and maximum concentrations, or empty for tiles {@link
   * #normalize} would return unchanged.
   */
  public static Optional<StainReference> estimate(int[] rgb, int w, int h) {
    StainNormalizers.checkTile(rgb, w, h);
    Estimate e = analyse(rgb);
    return e.problem == null ? Optional.of(e.toReference()) : Optional.empty();
  }

  @Override
  public int[] normalize(int[] rgb, int w, int h) {
    StainNormalizers.checkTile(rgb, w, h);
    Estimate e = analyse(rgb);
    if (e.problem != null) {
      return StainNormalizers.rgbCopy(rgb);
    }
    // Unmixing, rescaling and re-rendering are one linear map of the OD vector, M = [h_ref e_ref]
    // diag(scale) pinv([h e]); since OD depends on one 8-bit channel value at a time,
    // exp(-M OD) factors into per-channel tables and a pixel costs nine lookups and no exp.
    double[] hRef = reference.hematoxylin().toArray();
    double[] eRef = reference.eosin().toArray();
    double scaleH = reference.maxHematoxylin() / e.maxH;
    double scaleE = reference.maxEosin() / e.maxE;
    double[][][] factor = new double[3][3][256];
    for (int k = 0; k < 3; k++) {
      for (int c = 0; c < 3; c++) {
        double m = hRef[k] * scaleH * e.unmix[0][c] + eRef[k] * scaleE * e.unmix[1][c];
        for (int v = 0; v < 256; v++) {
          factor[k][c][v] = Math.exp(-m * OD[v]);
        }
      }
    }
    int[] out = new int[rgb.length];
    for (int i = 0; i < rgb.length; i++) {
      int p = rgb[i];
      int r = (p >> 16) & 0xff;
      int g = (p >> 8) & 0xff;
      int b = p & 0xff;
      int packed = 0;
      for (int k = 0; k < 3; k++) {
        double[][] f = factor[k];
        packed = (packed << 8) | toByte(IO * f[0][r] * f[1][g] * f[2][b] - 1);
      }
      out[i] = packed;
    }
    return out;
  }

  @Override
  public String describe() {
    return String.format(Locale.ROOT, "macenko(io=%s,alpha=%s,beta=%s,h=%s,e=%s,max-c=[%s,%s])",
        IO, ALPHA, BETA, reference.hematoxylin(), reference.eosin(),
        reference.maxHematoxylin(), reference.maxEosin());
  }

  private static int toByte(double v) {
    return v <= 0 ? 0 : v >= 255 ? 255 : (int) (v + 0.5);
  }

  /** A tile's stain estimate, or the reason there is none. */
  private record Estimate(double[] h, double[] e, double[][] unmix, double maxH, double maxE,
      String problem) {
    static Estimate failed(String problem) {
      return new Estimate(null, null, null, 0, 0, problem);
    }

    StainReference toReference() {
      return new StainReference(new StainVector(h[0], h[1], h[2]),
          new StainVector(e[0], e[1], e[2]), maxH, maxE);
    }
  }

  private static Estimate analyse(int[] rgb) {
    int n = rgb.length;
    int[] tissue = new int[n];
    int count = 0;
    double[] mean = new double[3];
    for (int p : rgb) {
      int r = (p >> 16) & 0xff;
      int g = (p >> 8) & 0xff;
      int b = p & 0xff;
      if (Math.max(r, Math.max(g, b)) <= TISSUE_MAX_VALUE) {
        tissue[count++] = p;
        mean[0] += OD[r];
        mean[1] += OD[g];
        mean[2] += OD[b];
      }
    }
    int needed = StainNormalizers.minTissuePixels(n);
    if (count < needed) {
      return Estimate.failed("only " + count + " of " + n + " pixels have optical density >= "
          + BETA + " in every channel, need " + needed);
    }
    for (int k = 0; k < 3; k++) {
      mean[k] /= count;
    }
    double[][] cov = new double[3][3];
    double[] od = new double[3];
    for (int t = 0; t < count; t++) {
      unpack(tissue[t], od);
      for (int i = 0; i < 3; i++) {
        for (int j = i; j < 3; j++) {
          cov[i][j] += (od[i] - mean[i]) * (od[j] - mean[j]);
        }
      }
    }
    for (int i = 0; i < 3; i++) {
      for (int j = i; j < 3; j++) {
        cov[i][j] /= count - 1;
      }
    }
    SymmetricEigen3.Result eig = SymmetricEigen3.decompose(cov);
    double first = eig.values()[0];
    double second = eig.values()[1];
    // Rounding leaves a single-colour tile with variances around 1e-30; real two-stain tissue has
    // OD variances of 1e-3 and more in both directions.
    if (!(second > 1e-9 && second > 1e-6 * first)) {
      return Estimate.failed("tissue pixels have a single colour (OD variances " + first + ", "
          + second + ")");
    }
    double[] v1 = positive(eig.vectors()[0]);
    double[] v2 = positive(eig.vectors()[1]);
    // Percentiles of phi = atan2(y, x). When every x > 0 (the usual case: tissue ODs are positive
    // and v1 is their main direction) phi = atan(y / x) is increasing in y / x, so the ranking is
    // done on y / x and atan is taken of the two interpolated order statistics only: atan2 costs
    // more than all the other per-pixel work of the estimate together.
    double[] key = new double[count];
    boolean rightHalf = true;
    for (int t = 0; t < count; t++) {
      unpack(tissue[t], od);
      double x = dot(od, v1);
      double y = dot(od, v2);
      rightHalf &= x > 0;
      key[t] = y / x;
    }
    DoubleUnaryOperator toAngle = Math::atan;
    if (!rightHalf) {
      for (int t = 0; t < count; t++) {
        unpack(tissue[t], od);
        key[t] = Math.atan2(dot(od, v2), dot(od, v1));
      }
      toAngle = DoubleUnaryOperator.identity();
    }
    double low = Percentiles.percentile(key, count, ALPHA, toAngle);
    double high = Percentiles.percentile(key, count, 100 - ALPHA, toAngle);
    double[] a = inPlane(v1, v2, low);
    double[] b = inPlane(v1, v2, high);
    double[] h = a[0] >= b[0] ? a : b;
    double[] e = a[0] >= b[0] ? b : a;
    // Both are unit vectors, so the Gram determinant of [h e] is 1 - cos^2 of their angle.
    double he = dot(h, e);
    double det = 1 - he * he;
    double angle = Math.toDegrees(Math.acos(Math.max(-1, Math.min(1, he))));
    if (!(angle >= MIN_STAIN_ANGLE_DEGREES)) {
      return Estimate.failed("the two extreme stain directions are only " + angle
          + " degrees apart, so the tissue shows one stain");
    }
    double[][] unmix = new double[2][3];
    for (int c = 0; c < 3; c++) {
      unmix[0][c] = (h[c] - he * e[c]) / det;
      unmix[1][c] = (e[c] - he * h[c]) / det;
    }
    double[] concH = new double[count];
    double[] concE = new double[count];
    for (int t = 0; t < count; t++) {
      unpack(tissue[t], od);
      concH[t] = dot(unmix[0], od);
      concE[t] = dot(unmix[1], od);
    }
    double maxH = Percentiles.percentile(concH, count, 99);
    double maxE = Percentiles.percentile(concE, count, 99);
    if (!(maxH >= MIN_MAX_CONCENTRATION && maxE >= MIN_MAX_CONCENTRATION)) {
      return Estimate.failed("a stain is missing (99th-percentile concentrations hematoxylin "
          + maxH + ", eosin " + maxE + ", need >= " + MIN_MAX_CONCENTRATION + ")");
    }
    return new Estimate(h, e, unmix, maxH, maxE, null);
  }

  private static void unpack(int p, double[] od) {
    od[0] = OD[(p >> 16) & 0xff];
    od[1] = OD[(p >> 8) & 0xff];
    od[2] = OD[p & 0xff];
  }

  private static double[] positive(double[] v) {
    double sign = v[0] + v[1] + v[2] < 0 ? -1 : 1;
    return new double[] {sign * v[0], sign * v[1], sign * v[2]};
  }

  private static double[] inPlane(double[] v1, double[] v2, double angle) {
    double c = Math.cos(angle);
    double s = Math.sin(angle);
    return new double[] {c * v1[0] + s * v2[0], c * v1[1] + s * v2[1], c * v1[2] + s * v2[2]};
  }

  private static double dot(double[] a, double[] b) {
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  }
}
