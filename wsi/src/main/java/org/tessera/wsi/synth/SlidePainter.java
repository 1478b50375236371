package org.tessera.wsi.synth;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

/**
 * One synthetic slide: its geometry (tissue blobs, planted lesions) and appearance (texture
 * placement, stain variation) are drawn once from a seed, then the level-0 image is rendered row
 * by row straight into a binary PPM, so slide size is bounded by disk, not heap.
 *
 * <p>Shapes are described by scalar fields sampled on a coarse grid and interpolated bilinearly per
 * pixel: a pixel is tissue where the tissue field is positive and lesion where the lesion field is
 * positive too. Only integer and float arithmetic runs per pixel, and geometry uses {@link
 * Random} and {@link StrictMath}, so the same seed gives the same pixels on every JVM.
 */
final class SlidePainter {
  private static final int GLASS_R = 240;
  private static final int GLASS_G = 240;
  private static final int GLASS_B = 238;

  /** The eight 90°-rotations/flips of the plane as (a, b, c, d) in u = a x + b y, v = c x + d y. */
  private static final int[][] DIHEDRAL = {
      {1, 0, 0, 1}, {-1, 0, 0, 1}, {1, 0, 0, -1}, {-1, 0, 0, -1},
      {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, -1, 0}, {0, -1, -1, 0}};
  /** Lesions show the texture at half scale: twice as many, smaller-looking cells per tile. */
  private static final int LESION_SCALE = 2;
  /** Optical-density direction of the faint pink stain every tissue pixel gets (red, green, blue). */
  private static final double[] BACKGROUND_STAIN = {0.15, 0.75, 0.35};
  private static final int[] GLASS_NOISE = {-3, -2, -1, 0, 0, 1, 2, 3};
  private static final int[] CHANNEL_JITTER = {-1, 0, 0, 1};
  /** Texture warp: displacement up to about this many texels, varying over this many pixels. */
  private static final double WARP_AMPLITUDE = 100;
  private static final double WARP_SPACING = 700;
  private static final int FIT_ITERATIONS = 6;

  private final int width;
  private final int height;
  private final int step;
  private final int gw;
  private final float[] tissue;
  private final float[] lesion;
  private final float[] warpU;
  private final float[] warpV;
  private final byte[] owner;
  private final int[][] blobMaps;
  private final int[] lesionMap;
  private final int[] lut = new int[3 * 256];
  private final long noiseSeed;
  private final Texture texture = Texture.get();
  private final int[] lesionTexture;

  /** Result of painting: the lesion mask and pixel counts. */
  record Painted(byte[] mask, int maskWidth, int maskHeight, long tissuePixels, long lesionPixels) {}

  /**
   * @param tileSize the pyramid tile edge: lesions are made fewer (not smaller) until each covers
   *                 about 1.5 x 1.5 tiles, where the drawn lesion share of the tissue allows
   * @param lesionContrast see {@link CohortParams#lesionContrast()}
   */
  SlidePainter(long seed, boolean tumor, int width, int height, int tileSize,
      double lesionContrast) {
    this.lesionTexture = texture.lesion(lesionContrast);
    this.width = width;
    this.height = height;
    Random rnd = new Random(seed);
    step = Math.max(8, (int) Math.ceil(Math.max(width, height) / 1024.0));
    gw = (width - 1) / step + 2;
    int gh = (height - 1) / step + 2;
    double minDim = Math.min(width, height);

    int nBlobs = 1 + rnd.nextInt(3);
    Shape[] blobs = new Shape[nBlobs];
    for (int b = 0; b < nBlobs; b++) {
      double lo = b == 0 ? 0.35 : 0.2;
      double cx = width * (lo + (1 - 2 * lo) * rnd.nextDouble());
      double cy = height * (lo + (1 - 2 * lo) * rnd.nextDouble());
      double size = (b == 0 ? 1.0 : 0.35 + 0.35 * rnd.nextDouble()) * minDim;
      blobs[b] = Shape.random(rnd, cx, cy, size, 0.55);
    }
    double[] noise = valueNoise(rnd, gw, gh, step, minDim / 5, 0.13, 0.06);
    // Tissue fades out well before the slide edge (softly, so it is not cut straight) and never
    // comes closer than a margin: real sections sit inside the glass, with glass all around.
    double margin = 0.05 * minDim;
    double[] border = new double[gw * gh];
    for (int j = 0; j < gh; j++) {
      for (int i = 0; i < gw; i++) {
        double x = i * step;
        double y = j * step;
        double d = Math.min(Math.min(x, width - 1 - x), Math.min(y, height - 1 - y));
        double near = Math.max(0, 1 - d / (4 * margin));
        border[j * gw + i] = Math.min(-0.8 * near * near, d / margin - 1);
      }
    }

    double tissueTarget = 0.22 + 0.2 * rnd.nextDouble();
    tissue = new float[gw * gh];
    owner = new byte[gw * gh];
    double scale = Math.sqrt(tissueTarget * width * height / (Math.PI * minDim * minDim * 0.6));
    // The union of blobs with noise has no closed-form area: rescale a few times towards the target.
    for (int iter = 0; ; iter++) {
      long inside = 0;
      long total = 0;
      for (int j = 0; j < gh; j++) {
        for (int i = 0; i < gw; i++) {
          int g = j * gw + i;
          double best = Double.NEGATIVE_INFINITY;
          int arg = 0;
          for (int b = 0; b < nBlobs; b++) {
            double f = blobs[b].field(i * step, j * step, scale);
            if (f > best) {
              best = f;
              arg = b;
            }
          }
          float t = (float) (best + noise[g] + border[g]);
          tissue[g] = t;
          owner[g] = (byte) arg;
          if (i * step < width && j * step < height) {
            total++;
            inside += t > 0 ? 1 : 0;
          }
        }
      }
      if (iter == FIT_ITERATIONS) {
        break;
      }
      scale *= rescale(tissueTarget, (double) inside / total);
    }

    // A smooth displacement of texture coordinates bends the mirror axes of the tiled texture, so
    // tissue reads as tissue rather than as wallpaper.
    warpU = toFloat(valueNoise(rnd, gw, gh, step, WARP_SPACING, WARP_AMPLITUDE, WARP_AMPLITUDE / 4));
    warpV = toFloat(valueNoise(rnd, gw, gh, step, WARP_SPACING, WARP_AMPLITUDE, WARP_AMPLITUDE / 4));
    blobMaps = new int[nBlobs][];
    for (int b = 0; b < nBlobs; b++) {
      blobMaps[b] = textureMap(rnd, 1);
    }
    lesionMap = textureMap(rnd, LESION_SCALE);
    stainLut(rnd);
    noiseSeed = rnd.nextLong();
    // Lesions come last, from a stream of their own: everything above is drawn the same whether
    // or not the slide has lesions, so a tumour slide and its lesion-free twin (same seed) differ
    // only inside the lesions, and no cue but the lesions tells the classes apart.
    long lesionSeed = rnd.nextLong();
    lesion = tumor ? plantLesions(new Random(lesionSeed), gh, minDim, 2.25 * tileSize * tileSize)
        : null;
  }

  /**
   * 1-3 lesions centred deep inside tissue, scaled until they cover a drawn 7-20% of it: enough to
   * find, few enough that most tiles of a tumour slide still look normal. Fewer lesions when the
   * share would make each smaller than {@code minLesionArea}, so that lesions span whole tiles.
   */
  private float[] plantLesions(Random rnd, int gh, double minDim, double minLesionArea) {
    int drawn = 1 + rnd.nextInt(3);
    double target = 0.07 + 0.13 * rnd.nextDouble();
    int deepest = 0;
    long tissueCount = 0;
    for (int g = 0; g < tissue.length; g++) {
      if (tissue[g] > tissue[deepest]) {
        deepest = g;
      }
      if (tissue[g] > 0 && (g % gw) * step < width && (g / gw) * step < height) {
        tissueCount++;
      }
    }
    double area = target * tissueCount * step * step;
    int n = Math.max(1, Math.min(drawn, (int) (area / minLesionArea)));
    float deep = Math.min(0.3f, tissue[deepest] * 0.6f);
    Shape[] shapes = new Shape[n];
    for (int k = 0; k < n; k++) {
      int g = deepest;
      for (int tries = 0; tries < 10_000; tries++) {
        int cand = rnd.nextInt(tissue.length);
        if (tissue[cand] >= deep) {
          g = cand;
          break;
        }
      }
      double weight = 0.6 + 0.4 * rnd.nextDouble();
      shapes[k] = Shape.random(rnd, (g % gw) * step, (g / gw) * step, weight * minDim, 0.6);
    }
    double[] noise = valueNoise(rnd, gw, gh, step, minDim / 12, 0.08, 0.04);
    double scale = Math.sqrt(area / n / (Math.PI * minDim * minDim * 0.5));
    float[] field = new float[tissue.length];
    for (int iter = 0; ; iter++) {
      long inside = 0;
      for (int g = 0; g < field.length; g++) {
        int x = (g % gw) * step;
        int y = (g / gw) * step;
        double best = Double.NEGATIVE_INFINITY;
        for (Shape s : shapes) {
          best = Math.max(best, s.field(x, y, scale));
        }
        field[g] = (float) (best + noise[g]);
        if (field[g] > 0 && tissue[g] > 0 && x < width && y < height) {
          inside++;
        }
      }
      if (iter == FIT_ITERATIONS) {
        return field;
      }
      scale *= rescale(target, (double) inside / Math.max(1, tissueCount));
    }
  }

  /** Linear scale factor moving an area share towards its target, damped against overshoot. */
  private static double rescale(double target, double share) {
    return Math.max(0.7, Math.min(1.4, Math.sqrt(target / Math.max(share, 1e-3))));
  }

  /** Texture placement for one region: a random rotation/flip and offset, at the given scale. */
  private int[] textureMap(Random rnd, int scale) {
    int[] d = DIHEDRAL[rnd.nextInt(DIHEDRAL.length)];
    int period = Texture.PERIOD;
    int base = period * ((scale * (width + height) + 2 * (int) WARP_AMPLITUDE) / period + 1);
    return new int[] {d[0] * scale, d[1] * scale, d[2] * scale, d[3] * scale,
        base + rnd.nextInt(period), base + rnd.nextInt(period)};
  }

  /**
   * Per-slide stain strength per channel, overall brightness, and a faint pink background stain
   * (as eosin or section background gives real tissue): the IHC photograph's stroma is almost as
   * grey as glass, and tissue that a saturation threshold cannot see would make the painted tissue
   * an unfair ground truth.
   */
  private void stainLut(Random rnd) {
    double global = 0.88 + 0.24 * rnd.nextDouble();
    double brightness = -6 + 10 * rnd.nextDouble();
    double tint = 0.12 + 0.06 * rnd.nextDouble();
    for (int c = 0; c < 3; c++) {
      double gain = global * (0.9 + 0.2 * rnd.nextDouble());
      for (int v = 0; v < 256; v++) {
        double od = gain * Texture.density(v) + tint * BACKGROUND_STAIN[c];
        double out = 255.0 * StrictMath.exp(-od) + brightness;
        lut[c * 256 + v] = Texture.clamp((int) Math.round(out));
      }
    }
  }

  /**
   * Renders the slide into a binary PPM and returns the lesion mask at {@code downsample}: a mask
   * pixel is 255 where at least half of the level-0 pixels it covers are lesion.
   */
  Painted paint(Path ppm, int downsample) throws IOException {
    int mw = (width + downsample - 1) / downsample;
    int mh = (height + downsample - 1) / downsample;
    byte[] mask = new byte[mw * mh];
    int[] counts = new int[mw];
    byte[] row = new byte[3 * width];
    boolean[] lesionRow = new boolean[width];
    float[][] rows = new float[4][gw];
    long tissuePixels = 0;
    long lesionPixels = 0;
    byte[] header = ("P6\n" + width + " " + height + "\n255\n").getBytes(StandardCharsets.US_ASCII);
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(ppm), 1 << 20)) {
      out.write(header);
      for (int y = 0; y < height; y++) {
        Arrays.fill(lesionRow, false);
        tissuePixels += renderRow(y, row, lesionRow, rows);
        out.write(row);
        for (int mx = 0; mx < mw; mx++) {
          int end = Math.min(width, (mx + 1) * downsample);
          int c = 0;
          for (int x = mx * downsample; x < end; x++) {
            c += lesionRow[x] ? 1 : 0;
          }
          counts[mx] += c;
          lesionPixels += c;
        }
        if ((y + 1) % downsample == 0 || y == height - 1) {
          int my = y / downsample;
          int cellH = y - my * downsample + 1;
          for (int mx = 0; mx < mw; mx++) {
            int cellW = Math.min(downsample, width - mx * downsample);
            mask[my * mw + mx] = (byte) (2 * counts[mx] >= cellW * cellH && counts[mx] > 0 ? 255 : 0);
          }
          Arrays.fill(counts, 0);
        }
      }
    }
    return new Painted(mask, mw, mh, tissuePixels, lesionPixels);
  }

  private int renderRow(int y, byte[] rgb, boolean[] lesionRow, float[][] rows) {
    float[] rowTissue = rows[0];
    float[] rowLesion = rows[1];
    float[] rowWarpU = rows[2];
    float[] rowWarpV = rows[3];
    int j = y / step;
    float ty = (y - j * step) / (float) step;
    interpolateRow(tissue, j, ty, rowTissue);
    interpolateRow(warpU, j, ty, rowWarpU);
    interpolateRow(warpV, j, ty, rowWarpV);
    if (lesion != null) {
      interpolateRow(lesion, j, ty, rowLesion);
    }
    int ownerBase = ((y + step / 2) / step) * gw;
    int nBlobs = blobMaps.length;
    int[] u0 = new int[nBlobs];
    int[] v0 = new int[nBlobs];
    for (int b = 0; b < nBlobs; b++) {
      int[] m = blobMaps[b];
      u0[b] = m[1] * y + m[4];
      v0[b] = m[3] * y + m[5];
    }
    int lu0 = lesionMap[1] * y + lesionMap[4];
    int lv0 = lesionMap[3] * y + lesionMap[5];
    int[] normal = texture.normal;
    int[] lesionTex = lesionTexture;
    int noise = seedRow(y);
    int half = step / 2;
    float invStep = 1f / step;
    int tissueCount = 0;
    int x = 0;
    for (int i = 0; x < width; i++) {
      float t0 = rowTissue[i];
      float dt = (rowTissue[i + 1] - t0) * invStep;
      float l0 = lesion == null ? -1f : rowLesion[i];
      float dl = lesion == null ? 0f : (rowLesion[i + 1] - l0) * invStep;
      float wu0 = rowWarpU[i];
      float dwu = (rowWarpU[i + 1] - wu0) * invStep;
      float wv0 = rowWarpV[i];
      float dwv = (rowWarpV[i + 1] - wv0) * invStep;
      for (int k = 0; k < step && x < width; k++, x++) {
        int o = 3 * x;
        if (t0 + dt * k > 0) {
          tissueCount++;
          int du = (int) (wu0 + dwu * k);
          int dv = (int) (wv0 + dwv * k);
          int p;
          if (l0 + dl * k > 0) {
            lesionRow[x] = true;
            p = lesionTex[Texture.index(lesionMap[0] * x + lu0 + du, lesionMap[2] * x + lv0 + dv)];
          } else {
            int b = owner[ownerBase + (k < half ? i : i + 1)];
            int[] m = blobMaps[b];
            p = normal[Texture.index(m[0] * x + u0[b] + du, m[2] * x + v0[b] + dv)];
          }
          rgb[o] = (byte) lut[(p >> 16) & 0xff];
          rgb[o + 1] = (byte) lut[256 + ((p >> 8) & 0xff)];
          rgb[o + 2] = (byte) lut[512 + (p & 0xff)];
        } else {
          noise ^= noise << 13;
          noise ^= noise >>> 17;
          noise ^= noise << 5;
          int n = GLASS_NOISE[noise & 7];
          rgb[o] = (byte) (GLASS_R + n + CHANNEL_JITTER[(noise >>> 3) & 3]);
          rgb[o + 1] = (byte) (GLASS_G + n + CHANNEL_JITTER[(noise >>> 5) & 3]);
          rgb[o + 2] = (byte) (GLASS_B + n + CHANNEL_JITTER[(noise >>> 7) & 3]);
        }
      }
    }
    return tissueCount;
  }

  private void interpolateRow(float[] field, int j, float ty, float[] out) {
    int a = j * gw;
    int b = a + gw;
    for (int i = 0; i < gw; i++) {
      out[i] = field[a + i] + ty * (field[b + i] - field[a + i]);
    }
  }

  /** Glass noise is seeded per row so that rows could be rendered in any order. */
  private int seedRow(int y) {
    long z = noiseSeed + 0x9E3779B97F4A7C15L * (y + 1);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    int s = (int) (z ^ (z >>> 31));
    return s == 0 ? 0x6d2b79f5 : s;
  }

  /**
   * Two octaves of smooth value noise at the grid points, so blob borders wander organically
   * instead of following the pure harmonics of {@link Shape}.
   */
  private static double[] valueNoise(Random rnd, int gw, int gh, int step, double spacing,
      double amp1, double amp2) {
    double[] out = new double[gw * gh];
    addOctave(rnd, out, gw, gh, step, spacing, amp1);
    addOctave(rnd, out, gw, gh, step, spacing / 2.5, amp2);
    return out;
  }

  private static void addOctave(Random rnd, double[] out, int gw, int gh, int step, double spacing,
      double amp) {
    int lw = (int) Math.ceil(gw * step / spacing) + 2;
    int lh = (int) Math.ceil(gh * step / spacing) + 2;
    double[] lattice = new double[lw * lh];
    for (int i = 0; i < lattice.length; i++) {
      lattice[i] = 2 * rnd.nextDouble() - 1;
    }
    for (int j = 0; j < gh; j++) {
      double fy = j * step / spacing;
      int ly = (int) fy;
      double sy = smooth(fy - ly);
      for (int i = 0; i < gw; i++) {
        double fx = i * step / spacing;
        int lx = (int) fx;
        double sx = smooth(fx - lx);
        double top = lattice[ly * lw + lx] * (1 - sx) + lattice[ly * lw + lx + 1] * sx;
        double bottom = lattice[(ly + 1) * lw + lx] * (1 - sx) + lattice[(ly + 1) * lw + lx + 1] * sx;
        out[j * gw + i] += amp * (top * (1 - sy) + bottom * sy);
      }
    }
  }

  private static float[] toFloat(double[] v) {
    float[] out = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = (float) v[i];
    }
    return out;
  }

  private static double smooth(double t) {
    return t * t * (3 - 2 * t);
  }

  /**
   * A rotated ellipse whose radius wobbles with a few random harmonics of the polar angle. Its
   * field is 1 at the centre, 0 on the border, negative outside. Harmonics are evaluated from the
   * angle's cosine and sine by complex multiplication, which needs no trigonometry per point.
   */
  private record Shape(double cx, double cy, double rx, double ry, double cos, double sin,
      double[] hc, double[] hs) {

    static Shape random(Random rnd, double cx, double cy, double size, double minAspect) {
      double aspect = minAspect + (1 - minAspect) * rnd.nextDouble();
      double angle = Math.PI * rnd.nextDouble();
      int n = 4;
      double[] hc = new double[n];
      double[] hs = new double[n];
      for (int k = 0; k < n; k++) {
        double a = 0.22 / (k + 2) * rnd.nextDouble();
        double phase = 2 * Math.PI * rnd.nextDouble();
        hc[k] = a * StrictMath.cos(phase);
        hs[k] = a * StrictMath.sin(phase);
      }
      return new Shape(cx, cy, size, size * aspect, StrictMath.cos(angle), StrictMath.sin(angle),
          hc, hs);
    }

    double field(double x, double y, double scale) {
      double dx = x - cx;
      double dy = y - cy;
      double u = (dx * cos + dy * sin) / (rx * scale);
      double v = (-dx * sin + dy * cos) / (ry * scale);
      double rho = Math.sqrt(u * u + v * v);
      if (rho == 0) {
        return 1;
      }
      double c1 = u / rho;
      double s1 = v / rho;
      double ck = c1 * c1 - s1 * s1;
      double sk = 2 * c1 * s1;
      double radius = 1;
      for (int k = 0; k < hc.length; k++) {
        radius += hc[k] * ck - hs[k] * sk;
        double next = ck * c1 - sk * s1;
        sk = sk * c1 + ck * s1;
        ck = next;
      }
      return 1 - rho / radius;
    }
  }
}
