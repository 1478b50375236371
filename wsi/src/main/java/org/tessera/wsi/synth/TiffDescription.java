package org.tessera.wsi.synth;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Sets the ImageDescription (tag 270) of the first image of a classic TIFF in place. Scanners put
 * their metadata there (Aperio: {@code Aperio Image Library ...|AppMag = 40|MPP = 0.25}), and slide
 * libraries detect vendor and pixel size from it; libvips does not let us set it on save.
 *
 * <p>The first IFD is rewritten at the end of the file with the new entry and the header is pointed
 * at it; every other byte of the file stays where it was, so offsets held by other tags stay valid.
 */
public final class TiffDescription {
  private static final int TAG_IMAGE_DESCRIPTION = 270;
  private static final int TYPE_ASCII = 2;

  private TiffDescription() {}

  public static void set(Path tiff, String description) throws IOException {
    try (FileChannel ch = FileChannel.open(tiff, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer header = read(ch, 0, 8, ByteOrder.LITTLE_ENDIAN);
      ByteOrder order = switch (header.getShort(0)) {
        case 0x4949 -> ByteOrder.LITTLE_ENDIAN;
        case 0x4d4d -> ByteOrder.BIG_ENDIAN;
        default -> throw new IOException(tiff + ": not a TIFF file (bad byte-order mark)");
      };
      header.order(order);
      if (header.getShort(2) != 42) {
        throw new IOException(tiff + ": not a classic TIFF (BigTIFF is not supported here)");
      }
      long ifd = Integer.toUnsignedLong(header.getInt(4));
      int count = Short.toUnsignedInt(read(ch, ifd, 2, order).getShort(0));
      ByteBuffer entries = read(ch, ifd + 2, count * 12 + 4, order);
      List<byte[]> kept = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        byte[] e = new byte[12];
        entries.get(i * 12, e);
        if (Short.toUnsignedInt(ByteBuffer.wrap(e).order(order).getShort(0)) != TAG_IMAGE_DESCRIPTION) {
          kept.add(e);
        }
      }
      long nextIfd = Integer.toUnsignedLong(entries.getInt(count * 12));

      byte[] text = (description + "\0").getBytes(StandardCharsets.US_ASCII);
      long textOffset = align(ch.size());
      ch.write(ByteBuffer.wrap(text), textOffset);

      ByteBuffer entry = ByteBuffer.allocate(12).order(order);
      entry.putShort((short) TAG_IMAGE_DESCRIPTION).putShort((short) TYPE_ASCII)
          .putInt(text.length).putInt((int) textOffset);
      kept.add(entry.array());
      kept.sort((a, b) -> Integer.compare(tag(a, order), tag(b, order)));

      ByteBuffer newIfd = ByteBuffer.allocate(2 + kept.size() * 12 + 4).order(order);
      newIfd.putShort((short) kept.size());
      kept.forEach(newIfd::put);
      newIfd.putInt((int) nextIfd).flip();
      long newIfdOffset = align(textOffset + text.length);
      if (newIfdOffset + newIfd.remaining() > 0xffffffffL) {
        throw new IOException(tiff + ": too large for a classic TIFF description rewrite");
      }
      ch.write(newIfd, newIfdOffset);
      ch.write(ByteBuffer.allocate(4).order(order).putInt(0, (int) newIfdOffset), 4);
    }
  }

  private static int tag(byte[] entry, ByteOrder order) {
    return Short.toUnsignedInt(ByteBuffer.wrap(entry).order(order).getShort(0));
  }

  private static long align(long offset) {
    return (offset + 1) & ~1L;
  }

  private static ByteBuffer read(FileChannel ch, long pos, int len, ByteOrder order)
      throws IOException {
    ByteBuffer b = ByteBuffer.allocate(len).order(order);
    while (b.hasRemaining()) {
      if (ch.read(b, pos + b.position()) < 0) {
        throw new IOException("unexpected end of TIFF at offset " + (pos + b.position()));
      }
    }
    return b.flip();
  }
}
