package org.tessera.wsi.synth;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.imageio.ImageIO;

/**
 * The vendored IHC tissue photograph and its "lesion" restaining, as packed 0xRRGGBB texels.
 * Synthetic tissue borrows real cell morphology from it instead of imitating cells with noise, so
 * that a tile classifier sees something close to histology.
 */
final class Texture {
  static final int SIZE = 512;
  /** Texture coordinates wrap with this period, mirroring every other copy so there are no seams. */
  static final int PERIOD = 2 * SIZE;

  private static final String RESOURCE = "ihc.png";

  /** Hyperchromatic, haematoxylin-like optical-density direction (red, green, blue). */
  private static final double[] LESION_STAIN = {0.58, 0.86, 0.30};

  private static volatile Texture instance;

  final int[] normal;
  /** The full restaining (contrast 1). */
  private final int[] lesion;
  private final Map<Double, int[]> blends = new ConcurrentHashMap<>();

  private Texture(int[] normal) {
    this.normal = normal;
    this.lesion = restain(normal);
  }

  static Texture get() {
    Texture t = instance;
    if (t == null) {
      synchronized (Texture.class) {
        t = instance;
        if (t == null) {
          t = new Texture(load());
          instance = t;
        }
      }
    }
    return t;
  }

  /**
   * Lesion texels moved {@code contrast} (0..1) of the way from the normal texel's colour to its
   * restaining, per channel: the cell layout is the same at every contrast.
   */
  int[] lesion(double contrast) {
    if (contrast == 1.0) {
      return lesion;
    }
    return blends.computeIfAbsent(contrast, c -> {
      int[] out = new int[normal.length];
      for (int i = 0; i < out.length; i++) {
        int rgb = 0;
        for (int shift = 16; shift >= 0; shift -= 8) {
          int a = (normal[i] >> shift) & 0xff;
          int b = (lesion[i] >> shift) & 0xff;
          rgb = (rgb << 8) | clamp((int) Math.round(a + c * (b - a)));
        }
        out[i] = rgb;
      }
      return out;
    });
  }

  /** Index of texel (u, v) for non-negative wrapped coordinates. */
  static int index(int u, int v) {
    return fold(v) * SIZE + fold(u);
  }

  private static int fold(int c) {
    int m = c & (PERIOD - 1);
    return m < SIZE ? m : PERIOD - 1 - m;
  }

  private static int[] load() {
    try (InputStream in = Texture.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("resource " + RESOURCE + " missing from the tessera-wsi jar");
      }
      BufferedImage img = ImageIO.read(in);
      if (img == null || img.getWidth() != SIZE || img.getHeight() != SIZE) {
        throw new IllegalStateException("resource " + RESOURCE + " is not a " + SIZE + "x" + SIZE + " image");
      }
      int[] px = img.getRGB(0, 0, SIZE, SIZE, null, 0, SIZE);
      for (int i = 0; i < px.length; i++) {
        px[i] &= 0xffffff;
      }
      return px;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read texture " + RESOURCE, e);
    }
  }

  /**
   * Re-renders every texel with one purple-blue stain whose amount follows the texel's total
   * optical density, boosted: cell layout is kept, but brown DAB and pale stroma alike turn dark
   * purple, the look of hyperchromatic tumour nuclei that a CNN can pick out per tile.
   */
  private static int[] restain(int[] src) {
    double norm = Math.sqrt(LESION_STAIN[0] * LESION_STAIN[0] + LESION_STAIN[1] * LESION_STAIN[1]
        + LESION_STAIN[2] * LESION_STAIN[2]);
    int[] out = new int[src.length];
    for (int i = 0; i < src.length; i++) {
      int p = src[i];
      double od = density((p >> 16) & 0xff) + density((p >> 8) & 0xff) + density(p & 0xff);
      double amount = 0.55 + 1.5 * od;
      int rgb = 0;
      for (int c = 0; c < 3; c++) {
        double v = 255.0 * StrictMath.exp(-amount * LESION_STAIN[c] / norm);
        rgb = (rgb << 8) | clamp((int) Math.round(v));
      }
      out[i] = rgb;
    }
    return out;
  }

  static double density(int value) {
    return -StrictMath.log((value + 1) / 256.0);
  }

  static int clamp(int v) {
    return v < 0 ? 0 : Math.min(255, v);
  }
}
