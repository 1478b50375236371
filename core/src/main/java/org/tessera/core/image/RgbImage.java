package org.tessera.core.image;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/**
 * A reference image (e.g. a hand-picked, well-stained H&amp;E region) that stain normalisers are
 * fitted to. It only carries pixels to a {@code fit}; the fitted normaliser, not the image, is
 * what gets shipped and recorded.
 */
public final class RgbImage {
  private final int[] pixels;
  private final int width;
  private final int height;

  /**
   * @param pixels row-major packed 0xRRGGBB pixels (alpha ignored); kept, not copied
   */
  public RgbImage(int[] pixels, int width, int height) {
    StainNormalizers.checkTile(pixels, width, height);
    this.pixels = pixels;
    this.width = width;
    this.height = height;
  }

  /** Reads any format ImageIO knows (PNG, JPEG, TIFF, BMP); alpha and palettes are flattened. */
  public static RgbImage read(Path path) throws IOException {
    if (!Files.isRegularFile(path)) {
      throw new IOException("reference image " + path + " does not exist or is not a file");
    }
    BufferedImage image = ImageIO.read(path.toFile());
    if (image == null) {
      throw new IOException("reference image " + path
          + " is not in a format ImageIO can read; convert it to PNG or TIFF");
    }
    int w = image.getWidth();
    int h = image.getHeight();
    return new RgbImage(image.getRGB(0, 0, w, h, null, 0, w), w, h);
  }

  /** The pixels as given (not a copy: callers must not modify them). */
  public int[] pixels() {
    return pixels;
  }

  public int width() {
    return width;
  }

  public int height() {
    return height;
  }
}
