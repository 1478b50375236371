package org.tessera.spark.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which tiles a mask marks as lesion: level-0 coordinates, the downsample and the half rule. */
class LesionMasksTest {

  /**
   * A 10 x 6 mask at downsample 16 (slide 160 x 96 level-0 pixels) with lesion in mask columns
   * 6-7 and rows 2-3, that is level-0 x in [96, 128), y in [32, 64).
   */
  private static Path writeMask(Path dir) throws Exception {
    BufferedImage img = new BufferedImage(10, 6, BufferedImage.TYPE_BYTE_GRAY);
    for (int y = 2; y < 4; y++) {
      for (int x = 6; x < 8; x++) {
        img.getRaster().setSample(x, y, 0, 255);
      }
    }
    Files.createDirectories(dir);
    ImageIO.write(img, "png", dir.resolve("s1.png").toFile());
    Files.writeString(dir.resolve("masks.json"), "{\"downsample\": 16, \"slides\": [{\"slide_id\":"
        + " \"s1\", \"width\": 160, \"height\": 96, \"mask_width\": 10, \"mask_height\": 6}]}");
    return dir;
  }

  @Test
  void tilesAreReadInLevelZeroPixelsThroughTheDownsample(@TempDir Path tmp) throws Exception {
    Configuration conf = new Configuration();
    LesionMasks masks = LesionMasks.read(conf,
        new org.apache.hadoop.fs.Path(writeMask(tmp.resolve("m")).toUri()));
    LesionMasks.Mask m = masks.load(conf, "s1");
    assertEquals(16, m.downsample());
    // 32-pixel tiles span 2 x 2 mask pixels.
    assertTrue(m.tileInLesion(96, 32, 32), "the lesion block itself");
    assertFalse(m.tileInLesion(32, 96, 32), "x and y swapped");
    assertFalse(m.tileInLesion(6, 2, 32), "mask coordinates taken for level-0 ones");
    assertTrue(m.tileInLesion(112, 32, 32), "half of the tile's mask pixels are lesion");
    assertFalse(m.tileInLesion(112, 48, 32), "a quarter is not enough");
    assertFalse(m.tileInLesion(64, 32, 32));
    // A 64-pixel tile whose corner holds the block: 4 lesion pixels of 16.
    assertFalse(m.tileInLesion(64, 0, 64));
    assertTrue(m.tileInLesion(96, 32, 16));
    // A tile smaller than a mask pixel takes the pixel under its centre.
    assertTrue(m.tileInLesion(121, 57, 4));
    assertFalse(m.tileInLesion(129, 57, 4));
    // Past the mask's edge nothing counts.
    assertFalse(m.tileInLesion(160, 96, 32));
  }

  @Test
  void aMaskOfTheWrongSizeOrAMissingIndexIsOneLine(@TempDir Path tmp) throws Exception {
    Configuration conf = new Configuration();
    Path dir = writeMask(tmp.resolve("m"));
    Files.writeString(dir.resolve("masks.json"), "{\"downsample\": 16, \"slides\": [{\"slide_id\":"
        + " \"s1\", \"mask_width\": 12, \"mask_height\": 6}]}");
    LesionMasks masks = LesionMasks.read(conf, new org.apache.hadoop.fs.Path(dir.toUri()));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> masks.load(conf, "s1"));
    assertTrue(e.getMessage().contains("is 10x6") && e.getMessage().contains("12x6"),
        e.getMessage());
    Files.delete(dir.resolve("masks.json"));
    e = assertThrows(IllegalArgumentException.class,
        () -> LesionMasks.read(conf, new org.apache.hadoop.fs.Path(dir.toUri())));
    assertTrue(e.getMessage().contains("has no masks.json"), e.getMessage());
    assertFalse(e.getMessage().contains("\n"));
  }
}
