package org.tessera.wsi.tiff;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The image file directories of a TIFF or BigTIFF file, either byte order: for each directory the
 * tags a tiled whole-slide reader needs (size, tiling, compression, colour, tile offsets and byte
 * counts, JPEG tables, description, resolution). Values of other tags are not kept.
 */
public final class TiffFile {
  public static final int NEW_SUBFILE_TYPE = 254;
  public static final int IMAGE_WIDTH = 256;
  public static final int IMAGE_LENGTH = 257;
  public static final int BITS_PER_SAMPLE = 258;
  public static final int COMPRESSION = 259;
  public static final int PHOTOMETRIC = 262;
  public static final int IMAGE_DESCRIPTION = 270;
  public static final int STRIP_OFFSETS = 273;
  public static final int SAMPLES_PER_PIXEL = 277;
  public static final int STRIP_BYTE_COUNTS = 279;
  public static final int X_RESOLUTION = 282;
  public static final int Y_RESOLUTION = 283;
  public static final int PLANAR_CONFIG = 284;
  public static final int RESOLUTION_UNIT = 296;
  public static final int SOFTWARE = 305;
  public static final int PREDICTOR = 317;
  public static final int TILE_WIDTH = 322;
  public static final int TILE_LENGTH = 323;
  public static final int TILE_OFFSETS = 324;
  public static final int TILE_BYTE_COUNTS = 325;
  public static final int EXTRA_SAMPLES = 338;
  public static final int JPEG_TABLES = 347;
  public static final int YCBCR_SUBSAMPLING = 530;
  public static final int IMAGE_DEPTH = 32997;

  public static final int COMPRESSION_JPEG = 7;
  public static final int PHOTOMETRIC_RGB = 2;
  public static final int PHOTOMETRIC_YCBCR = 6;

  // The largest directory we accept: slides have a few dozen tags.
  private static final long MAX_TAGS = 4096;

  /** One image file directory. */
  public static final class Directory {
    final int index;
    final Map<Integer, long[]> numbers = new HashMap<>();
    final Map<Integer, double[]> rationals = new HashMap<>();
    final Map<Integer, String> strings = new HashMap<>();
    final Map<Integer, byte[]> bytes = new HashMap<>();
    final Set<Integer> tags = new HashSet<>();

    Directory(int index) {
      this.index = index;
    }

    public int index() {
      return index;
    }

    public boolean has(int tag) {
      return tags.contains(tag);
    }

    public long number(int tag, long fallback) {
      long[] v = numbers.get(tag);
      return v == null || v.length == 0 ? fallback : v[0];
    }

    public long[] numbers(int tag) {
      return numbers.get(tag);
    }

    public double rational(int tag) {
      double[] v = rationals.get(tag);
      return v == null || v.length == 0 ? Double.NaN : v[0];
    }

    public String string(int tag) {
      return strings.get(tag);
    }

    public byte[] bytes(int tag) {
      return bytes.get(tag);
    }

    public long width() {
      return number(IMAGE_WIDTH, 0);
    }

    public long height() {
      return number(IMAGE_LENGTH, 0);
    }

    public boolean tiled() {
      return has(TILE_WIDTH) && has(TILE_LENGTH) && has(TILE_OFFSETS);
    }
  }

  private final List<Directory> directories;
  private final boolean bigTiff;

  private TiffFile(List<Directory> directories, boolean bigTiff) {
    this.directories = List.copyOf(directories);
    this.bigTiff = bigTiff;
  }

  public List<Directory> directories() {
    return directories;
  }

  public boolean bigTiff() {
    return bigTiff;
  }

  /** Whether the file starts with a TIFF or BigTIFF header. */
  public static boolean isTiff(FileChannel ch) throws IOException {
    if (ch.size() < 8) {
      return false;
    }
    ByteBuffer head = read(ch, 0, 4);
    byte a = head.get(0);
    byte b = head.get(1);
    if (a != b || (a != 'I' && a != 'M')) {
      return false;
    }
    head.order(a == 'I' ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN);
    int magic = head.getShort(2) & 0xffff;
    return magic == 42 || magic == 43;
  }

  /** Parses every directory. @throws IOException when the file is not a well-formed TIFF */
  public static TiffFile parse(FileChannel ch) throws IOException {
    if (!isTiff(ch)) {
      throw new IOException("not a TIFF file");
    }
    ByteBuffer head = read(ch, 0, 16 <= ch.size() ? 16 : 8);
    ByteOrder order = head.get(0) == 'I' ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN;
    head.order(order);
    boolean big = (head.getShort(2) & 0xffff) == 43;
    long next;
    if (big) {
      if (head.limit() < 16 || head.getShort(4) != 8) {
        throw new IOException("BigTIFF header with an unsupported offset size");
      }
      next = head.getLong(8);
    } else {
      next = head.getInt(4) & 0xffffffffL;
    }
    List<Directory> dirs = new ArrayList<>();
    Set<Long> seen = new HashSet<>();
    while (next != 0) {
      if (!seen.add(next) || dirs.size() > 10_000) {
        throw new IOException("TIFF directory chain loops");
      }
      Directory d = new Directory(dirs.size());
      next = readDirectory(ch, next, order, big, d);
      dirs.add(d);
    }
    if (dirs.isEmpty()) {
      throw new IOException("TIFF file has no directories");
    }
    return new TiffFile(dirs, big);
  }

  private static long readDirectory(FileChannel ch, long offset, ByteOrder order, boolean big,
      Directory d) throws IOException {
    int countSize = big ? 8 : 2;
    int entrySize = big ? 20 : 12;
    int valueSize = big ? 8 : 4;
    ByteBuffer cb = read(ch, offset, countSize).order(order);
    long count = big ? cb.getLong(0) : cb.getShort(0) & 0xffff;
    if (count <= 0 || count > MAX_TAGS) {
      throw new IOException("TIFF directory at " + offset + " has " + count + " entries");
    }
    ByteBuffer eb = read(ch, offset + countSize, (int) (count * entrySize + valueSize))
        .order(order);
    for (int i = 0; i < count; i++) {
      int base = i * entrySize;
      int tag = eb.getShort(base) & 0xffff;
      int type = eb.getShort(base + 2) & 0xffff;
      long n = big ? eb.getLong(base + 4) : eb.getInt(base + 4) & 0xffffffffL;
      int size = typeSize(type);
      d.tags.add(tag);
      if (size == 0 || n < 0 || n > (1L << 31) / size) {
        continue;
      }
      long total = n * size;
      ByteBuffer value;
      if (total <= valueSize) {
        value = eb.slice(base + (big ? 12 : 8), valueSize).order(order);
      } else {
        long at = big ? eb.getLong(base + 12) : eb.getInt(base + 8) & 0xffffffffL;
        if (!wanted(tag)) {
          continue;
        }
        value = read(ch, at, (int) total).order(order);
      }
      decode(d, tag, type, (int) n, value);
    }
    return big ? eb.getLong((int) (count * entrySize)) : eb.getInt((int) (count * entrySize))
        & 0xffffffffL;
  }

  private static boolean wanted(int tag) {
    switch (tag) {
      case IMAGE_DESCRIPTION, STRIP_OFFSETS, STRIP_BYTE_COUNTS, TILE_OFFSETS, TILE_BYTE_COUNTS,
          JPEG_TABLES, X_RESOLUTION, Y_RESOLUTION, SOFTWARE, BITS_PER_SAMPLE, YCBCR_SUBSAMPLING,
          EXTRA_SAMPLES:
        return true;
      default:
        return false;
    }
  }

  private static void decode(Directory d, int tag, int type, int n, ByteBuffer v) {
    switch (type) {
      case 2 -> { // ASCII, NUL-terminated
        byte[] b = new byte[n];
        v.get(0, b);
        int len = 0;
        while (len < n && b[len] != 0) {
          len++;
        }
        d.strings.put(tag, new String(b, 0, len, StandardCharsets.UTF_8));
      }
      case 1, 6, 7 -> { // BYTE, SBYTE, UNDEFINED
        byte[] b = new byte[n];
        v.get(0, b);
        d.bytes.put(tag, b);
        long[] nums = new long[n];
        for (int i = 0; i < n; i++) {
          nums[i] = b[i] & 0xff;
        }
        d.numbers.put(tag, nums);
      }
      case 3, 8 -> {
        long[] nums = new long[n];
        for (int i = 0; i < n; i++) {
          nums[i] = v.getShort(2 * i) & 0xffff;
        }
        d.numbers.put(tag, nums);
      }
      case 4, 9, 13 -> {
        long[] nums = new long[n];
        for (int i = 0; i < n; i++) {
          nums[i] = v.getInt(4 * i) & 0xffffffffL;
        }
        d.numbers.put(tag, nums);
      }
      case 16, 17, 18 -> {
        long[] nums = new long[n];
        for (int i = 0; i < n; i++) {
          nums[i] = v.getLong(8 * i);
        }
        d.numbers.put(tag, nums);
      }
      case 5, 10 -> {
        double[] r = new double[n];
        for (int i = 0; i < n; i++) {
          long num = v.getInt(8 * i) & 0xffffffffL;
          long den = v.getInt(8 * i + 4) & 0xffffffffL;
          r[i] = den == 0 ? Double.NaN : (double) num / den;
        }
        d.rationals.put(tag, r);
      }
      default -> { }
    }
  }

  private static int typeSize(int type) {
    return switch (type) {
      case 1, 2, 6, 7 -> 1;
      case 3, 8 -> 2;
      case 4, 9, 11, 13 -> 4;
      case 5, 10, 12, 16, 17, 18 -> 8;
      default -> 0;
    };
  }

  /** Reads exactly {@code length} bytes at {@code offset}; safe from any number of threads. */
  static ByteBuffer read(FileChannel ch, long offset, int length) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(length);
    readFully(ch, offset, b);
    return b.flip();
  }

  static void readFully(FileChannel ch, long offset, ByteBuffer b) throws IOException {
    long at = offset;
    while (b.hasRemaining()) {
      int r = ch.read(b, at);
      if (r < 0) {
        throw new EOFException("TIFF data at " + at + " lies past the end of the file");
      }
      at += r;
    }
  }
}
