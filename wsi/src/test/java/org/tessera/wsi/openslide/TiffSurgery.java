package org.tessera.wsi.openslide;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Edits of classic TIFFs that libvips cannot make, to give the tests slides with an associated
 * image and slides damaged the way real copies get damaged. New data is appended; existing bytes
 * are patched only where a pointer has to change.
 */
final class TiffSurgery {
  private static final short SHORT = 3;
  private static final short LONG = 4;
  private static final short ASCII = 2;

  private TiffSurgery() {}

  /**
   * Appends an uncompressed, stripped RGB image as the last directory. Aperio files keep their
   * label and macro images like this, named by the second line of their ImageDescription.
   */
  static void appendStrippedRgb(Path tiff, BufferedImage image, String description)
      throws IOException {
    try (FileChannel ch = openForEdit(tiff)) {
      ByteOrder order = byteOrder(ch);
      long lastNextPointer = -1;
      long ifd = readUnsignedInt(ch, 4, order);
      while (ifd != 0) {
        lastNextPointer = ifd + 2 + 12L * readUnsignedShort(ch, ifd, order);
        ifd = readUnsignedInt(ch, lastNextPointer, order);
      }

      int w = image.getWidth();
      int h = image.getHeight();
      ByteBuffer pixels = ByteBuffer.allocate(w * h * 3);
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          int rgb = image.getRGB(x, y);
          pixels.put((byte) (rgb >> 16)).put((byte) (rgb >> 8)).put((byte) rgb);
        }
      }
      long pixelsAt = append(ch, pixels.flip());
      long descriptionAt = append(ch,
          ByteBuffer.wrap((description + "\0").getBytes(StandardCharsets.US_ASCII)));
      long bitsAt = append(ch, ByteBuffer.allocate(6).order(order)
          .putShort((short) 8).putShort((short) 8).putShort((short) 8).flip());

      ByteBuffer dir = ByteBuffer.allocate(2 + 11 * 12 + 4).order(order);
      dir.putShort((short) 11);
      entry(dir, 256, LONG, 1, w);                                // ImageWidth
      entry(dir, 257, LONG, 1, h);                                // ImageLength
      entry(dir, 258, SHORT, 3, bitsAt);                          // BitsPerSample
      shortEntry(dir, 259, 1);                                    // Compression: none
      shortEntry(dir, 262, 2);                                    // Photometric: RGB
      entry(dir, 270, ASCII, description.length() + 1, descriptionAt);
      entry(dir, 273, LONG, 1, pixelsAt);                         // StripOffsets
      shortEntry(dir, 277, 3);                                    // SamplesPerPixel
      entry(dir, 278, LONG, 1, h);                                // RowsPerStrip
      entry(dir, 279, LONG, 1, (long) w * h * 3);                 // StripByteCounts
      shortEntry(dir, 284, 1);                                    // PlanarConfiguration: chunky
      dir.putInt(0);
      long dirAt = append(ch, dir.flip());
      ch.write(ByteBuffer.allocate(4).order(order).putInt(0, (int) dirAt), lastNextPointer);
    }
  }

  /**
   * Points one tile of a directory past the end of the file: what a reader meets in a copy that
   * was cut short but kept its directories.
   */
  static void pointTileBeyondEnd(Path tiff, int directory, int tile) throws IOException {
    try (FileChannel ch = openForEdit(tiff)) {
      ByteOrder order = byteOrder(ch);
      long ifd = readUnsignedInt(ch, 4, order);
      for (int d = 0; d < directory; d++) {
        ifd = readUnsignedInt(ch, ifd + 2 + 12L * readUnsignedShort(ch, ifd, order), order);
      }
      int count = readUnsignedShort(ch, ifd, order);
      for (int i = 0; i < count; i++) {
        long entry = ifd + 2 + 12L * i;
        if (readUnsignedShort(ch, entry, order) == 324) {  // TileOffsets
          // One offset fits in the entry itself; more live elsewhere and the entry points there.
          long offsets = readUnsignedInt(ch, entry + 4, order) == 1
              ? entry + 8 : readUnsignedInt(ch, entry + 8, order);
          ByteBuffer beyond =
              ByteBuffer.allocate(4).order(order).putInt(0, (int) (ch.size() + 4096));
          ch.write(beyond, offsets + 4L * tile);
          return;
        }
      }
      throw new IOException(tiff + " has no TileOffsets in directory " + directory);
    }
  }

  private static void entry(ByteBuffer dir, int tag, short type, long count, long value) {
    dir.putShort((short) tag).putShort(type).putInt((int) count).putInt((int) value);
  }

  // A SHORT value sits left-justified in the 4-byte value field, whatever the byte order.
  private static void shortEntry(ByteBuffer dir, int tag, int value) {
    dir.putShort((short) tag).putShort(SHORT).putInt(1).putShort((short) value).putShort((short) 0);
  }

  // Word-aligned, as TIFF requires for directories and recommends for data.
  private static long append(FileChannel ch, ByteBuffer data) throws IOException {
    long at = (ch.size() + 1) & ~1L;
    ch.write(data, at);
    return at;
  }

  private static ByteOrder byteOrder(FileChannel ch) throws IOException {
    ByteBuffer mark = read(ch, 0, 2, ByteOrder.LITTLE_ENDIAN);
    return mark.getShort(0) == 0x4d4d ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
  }

  private static FileChannel openForEdit(Path tiff) throws IOException {
    return FileChannel.open(tiff, StandardOpenOption.READ, StandardOpenOption.WRITE);
  }

  private static int readUnsignedShort(FileChannel ch, long at, ByteOrder order)
      throws IOException {
    return Short.toUnsignedInt(read(ch, at, 2, order).getShort(0));
  }

  private static long readUnsignedInt(FileChannel ch, long at, ByteOrder order) throws IOException {
    return Integer.toUnsignedLong(read(ch, at, 4, order).getInt(0));
  }

  private static ByteBuffer read(FileChannel ch, long at, int length, ByteOrder order)
      throws IOException {
    ByteBuffer b = ByteBuffer.allocate(length).order(order);
    while (b.hasRemaining()) {
      if (ch.read(b, at + b.position()) < 0) {
        throw new IOException("unexpected end of TIFF at offset " + (at + b.position()));
      }
    }
    return b;
  }
}
