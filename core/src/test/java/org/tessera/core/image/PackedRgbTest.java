package org.tessera.core.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class PackedRgbTest {

  private static int[] randomPixels(int n, long seed) {
    Random rnd = new Random(seed);
    int[] px = new int[n];
    for (int i = 0; i < px.length; i++) {
      px[i] = rnd.nextInt(1 << 24);
    }
    return px;
  }

  @Test
  void theImageIsAnIntRgbViewOfTheArray() {
    int[] px = randomPixels(7 * 5, 1);
    BufferedImage image = PackedRgb.image(px, 7, 5);
    assertEquals(BufferedImage.TYPE_INT_RGB, image.getType());
    assertEquals(7, image.getWidth());
    assertEquals(5, image.getHeight());
    for (int y = 0; y < 5; y++) {
      for (int x = 0; x < 7; x++) {
        assertEquals(0xff000000 | px[y * 7 + x], image.getRGB(x, y), "pixel " + x + "," + y);
      }
    }
    image.setRGB(3, 2, 0xff123456);
    assertEquals(0x123456, px[2 * 7 + 3], "a write to the image lands in the array");
    px[0] = 0xabcdef;
    assertEquals(0xffabcdef, image.getRGB(0, 0), "a write to the array shows in the image");
  }

  @Test
  void theImageIgnoresTheUpperByteLikeSetRgbDoes() {
    int[] px = {0x7f102030, 0xff405060};
    BufferedImage view = PackedRgb.image(px, 2, 1);
    BufferedImage copy = new BufferedImage(2, 1, BufferedImage.TYPE_INT_RGB);
    copy.setRGB(0, 0, 2, 1, px, 0, 2);
    assertArrayEquals(copy.getRGB(0, 0, 2, 1, null, 0, 2), view.getRGB(0, 0, 2, 1, null, 0, 2));
  }

  @Test
  void imageIoEncodesTheViewLikeACopiedImage() throws IOException {
    int[] px = randomPixels(33 * 17, 2);
    BufferedImage copy = new BufferedImage(33, 17, BufferedImage.TYPE_INT_RGB);
    copy.setRGB(0, 0, 33, 17, px, 0, 33);
    assertArrayEquals(png(copy), png(PackedRgb.image(px, 33, 17)));
    BufferedImage back = ImageIO.read(new ByteArrayInputStream(png(PackedRgb.image(px, 33, 17))));
    for (int i = 0; i < px.length; i++) {
      assertEquals(px[i], back.getRGB(i % 33, i / 33) & 0xffffff, "pixel " + i);
    }
  }

  @Test
  void wrongSizesAreRejected() {
    assertThrows(IllegalArgumentException.class, () -> PackedRgb.image(new int[12], 4, 4));
    assertThrows(IllegalArgumentException.class, () -> PackedRgb.image(new int[0], 0, 4));
    assertThrows(IllegalArgumentException.class, () -> PackedRgb.image(new int[4], -2, -2));
  }

  @Test
  void rgbBytesAreInterleavedInPixelOrderWithoutTheUpperByte() {
    int[] px = {0x00102030, 0xff405060, 0x80ffffff, 0x00000000};
    assertArrayEquals(new byte[] {0x10, 0x20, 0x30, 0x40, 0x50, 0x60, -1, -1, -1, 0, 0, 0},
        PackedRgb.toRgbBytes(px));
    assertEquals(0, PackedRgb.toRgbBytes(new int[0]).length);
  }

  @Test
  void rgbBytesMatchGetRgbOfTheImage() {
    int[] px = randomPixels(256 * 256, 3);
    byte[] bytes = PackedRgb.toRgbBytes(px);
    int[] viaImage = PackedRgb.image(px, 256, 256).getRGB(0, 0, 256, 256, null, 0, 256);
    for (int i = 0; i < px.length; i++) {
      int rgb = ((bytes[3 * i] & 0xff) << 16) | ((bytes[3 * i + 1] & 0xff) << 8)
          | (bytes[3 * i + 2] & 0xff);
      assertEquals(viaImage[i] & 0xffffff, rgb, "pixel " + i);
    }
  }

  private static byte[] png(BufferedImage image) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(image, "png", out);
    return out.toByteArray();
  }

  @Test
  void rawBytesRoundTrip() {
    int[] rgb = {0x000000, 0xffffff, 0x123456, 0xabcdef, 0x80ff01};
    org.junit.jupiter.api.Assertions.assertArrayEquals(rgb,
        PackedRgb.fromRgbBytes(PackedRgb.toRgbBytes(rgb)));
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> PackedRgb.fromRgbBytes(new byte[4]));
  }
}
