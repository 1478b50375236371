package org.tessera.wsi.tiff;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import org.tessera.wsi.LevelInfo;
import org.tessera.wsi.SlideMetadata;
import org.tessera.wsi.SlideReader;
import org.tessera.wsi.openslide.OpenSlideReader;
import org.tessera.wsi.openslide.SlideOpenException;

/**
 * Reads tiled JPEG pyramidal TIFF slides (Aperio SVS and generic TIFF, classic or BigTIFF)
 * without OpenSlide: our own directory parser finds the tiles, libturbojpeg decodes them.
 *
 * <p>Pixels equal OpenSlide 3.4's {@code read_region} byte for byte: levels, downsamples and
 * associated image names are derived as OpenSlide derives them; tiles are decoded with libjpeg's
 * default settings (as libtiff does); tile padding past the image edge is transparent. A read
 * whose position at its level is not a whole pixel (OpenSlide then interpolates while
 * compositing) or that starts left of or above the slide, and associated images, are served by an
 * OpenSlide reader of the same file, opened on first need, so no request gets other pixels than
 * OpenSlide would give.
 *
 * <p>Whether a file is read directly at all is decided by {@link #unsupported(Path)}: anything
 * other than 8-bit 3-sample YCbCr JPEG tiles, every tile present, of a vendor OpenSlide calls
 * {@code aperio} or {@code generic-tiff}, is left to OpenSlide.
 */
public final class DirectTiffReader implements SlideReader {
  private static final int CACHED_TILES = 64;

  private final Path file;
  private final FileChannel channel;
  private final List<Level> levels;
  private final SlideMetadata metadata;
  private final Map<Long, int[]> cache = new LinkedHashMap<>(CACHED_TILES * 2, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<Long, int[]> eldest) {
      return size() > CACHED_TILES;
    }
  };
  private OpenSlideReader fallback; // guarded by this
  private volatile boolean closed;

  /** A pyramid level: one tiled directory. */
  record Level(TiffFile.Directory dir, long width, long height, int tileWidth, int tileHeight,
      long across, long down, long[] offsets, long[] counts, byte[] tables, double downsample) {}

  /** The parse of a file: its levels, vendor and what OpenSlide would call its properties. */
  record Layout(String vendor, TiffFile tiff, List<Level> levels, List<String> associated) {}

  private DirectTiffReader(Path file, FileChannel channel, Layout layout) {
    this.file = file;
    this.channel = channel;
    this.levels = layout.levels();
    this.metadata = metadata(layout);
  }

  /**
   * Opens a slide for direct reading.
   *
   * @throws SlideOpenException when the file is missing, unreadable, or a layout this reader
   *                            leaves to OpenSlide (the message says why)
   */
  public static DirectTiffReader open(Path path) throws IOException {
    TurboJpeg.load();
    Path file = path.toAbsolutePath().normalize();
    if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
      // OpenSlide's checks give the actionable messages for missing and unreadable files.
      OpenSlideReader.open(file).close();
    }
    FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
    boolean ok = false;
    try {
      Layout layout = layout(file, ch);
      DirectTiffReader reader = new DirectTiffReader(file, ch, layout);
      ok = true;
      return reader;
    } catch (Refusal r) {
      throw new SlideOpenException(file, "the direct reader does not read this slide ("
          + r.getMessage() + "); read it with --reader openslide or auto");
    } finally {
      if (!ok) {
        ch.close();
      }
    }
  }

  /** Why this reader leaves the file to OpenSlide; empty when it reads it itself. */
  public static Optional<String> unsupported(Path path) {
    if (!TurboJpeg.isAvailable()) {
      return Optional.of("libturbojpeg is not installed");
    }
    Path file = path.toAbsolutePath().normalize();
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      layout(file, ch);
      return Optional.empty();
    } catch (Refusal r) {
      return Optional.of(r.getMessage());
    } catch (IOException | RuntimeException e) {
      return Optional.of("cannot parse the file as TIFF (" + e.getMessage() + ")");
    }
  }

  private static final class Refusal extends IOException {
    Refusal(String reason) {
      super(reason);
    }
  }

  private static Layout layout(Path file, FileChannel ch) throws IOException {
    if (!TiffFile.isTiff(ch)) {
      throw new Refusal("not a TIFF file");
    }
    Optional<String> detected = OpenSlideReader.detectVendor(file);
    String vendor = detected.orElseThrow(() -> new Refusal("not a slide OpenSlide recognises"));
    if (!vendor.equals("aperio") && !vendor.equals("generic-tiff")) {
      throw new Refusal("vendor format " + vendor);
    }
    TiffFile tiff = TiffFile.parse(ch);
    List<TiffFile.Directory> tiled = new ArrayList<>();
    List<String> associated = new ArrayList<>();
    for (TiffFile.Directory d : tiff.directories()) {
      if (d.tiled()) {
        tiled.add(d);
      } else if (vendor.equals("aperio")) {
        associatedName(d).ifPresent(associated::add);
      }
    }
    if (tiled.isEmpty()) {
      throw new Refusal("no tiled directory");
    }
    if (vendor.equals("aperio") && !tiff.directories().get(0).tiled()) {
      throw new Refusal("Aperio file whose first directory is not tiled");
    }
    if (vendor.equals("generic-tiff")) {
      // OpenSlide orders generic TIFF levels by width, widest first.
      tiled.sort(Comparator.comparingLong(TiffFile.Directory::width).reversed());
    }
    long w0 = tiled.get(0).width();
    long h0 = tiled.get(0).height();
    List<Level> levels = new ArrayList<>();
    for (TiffFile.Directory d : tiled) {
      levels.add(level(d, w0, h0, levels.isEmpty()));
    }
    return new Layout(vendor, tiff, levels, associated);
  }

  // OpenSlide 3.4's Aperio reader: the second directory, when stripped, is the thumbnail; other
  // stripped directories are named by the first word of their description's second line.
  private static Optional<String> associatedName(TiffFile.Directory d) {
    if (d.index() == 1) {
      return Optional.of("thumbnail");
    }
    String desc = d.string(TiffFile.IMAGE_DESCRIPTION);
    if (desc == null) {
      return Optional.empty();
    }
    String[] lines = desc.split("\n");
    if (lines.length < 2) {
      return Optional.empty();
    }
    String[] words = lines[1].trim().split(" ");
    return words.length == 0 || words[0].isEmpty() ? Optional.empty() : Optional.of(words[0]);
  }

  private static Level level(TiffFile.Directory d, long w0, long h0, boolean first)
      throws Refusal {
    long compression = d.number(TiffFile.COMPRESSION, 1);
    if (compression != TiffFile.COMPRESSION_JPEG) {
      throw new Refusal(compression == 33003 || compression == 33005
          ? "JPEG 2000 tiles (compression " + compression + ")"
          : "tiles with compression " + compression + " (only JPEG, 7, is read directly)");
    }
    long photometric = d.number(TiffFile.PHOTOMETRIC, -1);
    if (photometric != TiffFile.PHOTOMETRIC_YCBCR) {
      throw new Refusal("JPEG tiles with photometric interpretation " + photometric
          + " (only YCbCr, 6, is read directly)");
    }
    if (d.number(TiffFile.SAMPLES_PER_PIXEL, 1) != 3 || d.has(TiffFile.EXTRA_SAMPLES)) {
      throw new Refusal("not 3 samples per pixel");
    }
    long[] bits = d.numbers(TiffFile.BITS_PER_SAMPLE);
    if (bits != null) {
      for (long b : bits) {
        if (b != 8) {
          throw new Refusal(b + " bits per sample");
        }
      }
    }
    if (d.number(TiffFile.PLANAR_CONFIG, 1) != 1 || d.number(TiffFile.IMAGE_DEPTH, 1) != 1) {
      throw new Refusal("planar or volumetric tiles");
    }
    long w = d.width();
    long h = d.height();
    int tw = (int) d.number(TiffFile.TILE_WIDTH, 0);
    int th = (int) d.number(TiffFile.TILE_LENGTH, 0);
    if (w <= 0 || h <= 0 || tw <= 0 || th <= 0 || tw % 16 != 0 || th % 16 != 0) {
      throw new Refusal("unusual level or tile size " + w + "x" + h + " / " + tw + "x" + th);
    }
    long across = (w + tw - 1) / tw;
    long down = (h + th - 1) / th;
    long[] offsets = d.numbers(TiffFile.TILE_OFFSETS);
    long[] counts = d.numbers(TiffFile.TILE_BYTE_COUNTS);
    if (offsets == null || counts == null || offsets.length != across * down
        || counts.length != offsets.length) {
      throw new Refusal("tile offsets do not match the tile grid");
    }
    for (long c : counts) {
      if (c <= 0 || c > Integer.MAX_VALUE / 2) {
        throw new Refusal("missing or oversized tiles");
      }
    }
    byte[] tables = d.bytes(TiffFile.JPEG_TABLES);
    if (tables != null && (tables.length < 4 || (tables[0] & 0xff) != 0xff
        || (tables[1] & 0xff) != 0xd8)) {
      throw new Refusal("malformed JPEGTables");
    }
    double downsample = first ? 1.0 : ((double) w0 / w + (double) h0 / h) / 2.0;
    return new Level(d, w, h, tw, th, across, down, offsets, counts, tables, downsample);
  }

  private static SlideMetadata metadata(Layout layout) {
    Map<String, String> props = new HashMap<>();
    List<LevelInfo> infos = new ArrayList<>();
    for (int i = 0; i < layout.levels().size(); i++) {
      Level l = layout.levels().get(i);
      infos.add(new LevelInfo(i, l.width(), l.height(), l.downsample()));
      String p = "openslide.level[" + i + "].";
      props.put(p + "width", Long.toString(l.width()));
      props.put(p + "height", Long.toString(l.height()));
      props.put(p + "tile-width", Integer.toString(l.tileWidth()));
      props.put(p + "tile-height", Integer.toString(l.tileHeight()));
      props.put(p + "downsample", number(l.downsample()));
    }
    props.put("openslide.level-count", Integer.toString(infos.size()));
    props.put("openslide.vendor", layout.vendor());
    TiffFile.Directory first = layout.tiff().directories().get(0);
    String desc = first.string(TiffFile.IMAGE_DESCRIPTION);
    if (desc != null) {
      props.put("tiff.ImageDescription", desc);
    }
    double xres = first.rational(TiffFile.X_RESOLUTION);
    double yres = first.rational(TiffFile.Y_RESOLUTION);
    if (!Double.isNaN(xres)) {
      props.put("tiff.XResolution", number((float) xres));
    }
    if (!Double.isNaN(yres)) {
      props.put("tiff.YResolution", number((float) yres));
    }
    if (first.has(TiffFile.RESOLUTION_UNIT)) {
      long unit = first.number(TiffFile.RESOLUTION_UNIT, 2);
      props.put("tiff.ResolutionUnit", unit == 1 ? "none" : unit == 3 ? "centimeter" : "inch");
    }
    OptionalDouble mppX = OptionalDouble.empty();
    OptionalDouble mppY = OptionalDouble.empty();
    OptionalDouble objective = OptionalDouble.empty();
    if (layout.vendor().equals("aperio") && desc != null) {
      String[] parts = desc.split("\\|");
      for (int i = 1; i < parts.length; i++) {
        int eq = parts[i].indexOf(" = ");
        if (eq > 0) {
          props.put("aperio." + parts[i].substring(0, eq).trim(), parts[i].substring(eq + 3));
        }
      }
      mppX = positive(props.get("aperio.MPP"));
      mppY = mppX;
      objective = positive(props.get("aperio.AppMag"));
      mppX.ifPresent(v -> props.put("openslide.mpp-x", number(v)));
      mppY.ifPresent(v -> props.put("openslide.mpp-y", number(v)));
      objective.ifPresent(v -> props.put("openslide.objective-power", number(v)));
    }
    return new SlideMetadata(layout.vendor(), infos, mppX, mppY, objective, props,
        layout.associated());
  }

  // As OpenSlide prints doubles: 17 significant digits, trailing zeros dropped.
  private static String number(double v) {
    return new BigDecimal(v).round(new MathContext(17)).stripTrailingZeros().toPlainString();
  }

  private static OptionalDouble positive(String value) {
    if (value == null) {
      return OptionalDouble.empty();
    }
    try {
      double d = Double.parseDouble(value.trim());
      return Double.isFinite(d) && d > 0 ? OptionalDouble.of(d) : OptionalDouble.empty();
    } catch (NumberFormatException e) {
      return OptionalDouble.empty();
    }
  }

  @Override
  public SlideMetadata metadata() {
    return metadata;
  }

  @Override
  public int[] readArgb(long x, long y, int level, int width, int height) throws IOException {
    SlideReader.regionPixels(metadata, level, width, height);
    checkOpen();
    Level l = levels.get(level);
    double lx = x / l.downsample();
    double ly = y / l.downsample();
    if (x < 0 || y < 0 || lx != Math.floor(lx) || ly != Math.floor(ly)) {
      return fallback().readArgb(x, y, level, width, height);
    }
    return compose(l, level, (long) lx, (long) ly, width, height);
  }

  /** Whether {@link #readArgb} serves this request itself (else OpenSlide does). */
  public boolean readsDirectly(long x, long y, int level) {
    Level l = levels.get(metadata.level(level).index());
    double lx = x / l.downsample();
    double ly = y / l.downsample();
    return x >= 0 && y >= 0 && lx == Math.floor(lx) && ly == Math.floor(ly);
  }

  private int[] compose(Level l, int level, long lx, long ly, int width, int height)
      throws IOException {
    int tw = l.tileWidth();
    int th = l.tileHeight();
    // Aligned: the request is one whole stored tile inside the level, so it is one decode.
    if (width == tw && height == th && lx % tw == 0 && ly % th == 0
        && lx + tw <= l.width() && ly + th <= l.height()) {
      return decode(l, lx / tw, ly / th);
    }
    int[] out = new int[width * height];
    long x1 = Math.min(lx + width, l.width());
    long y1 = Math.min(ly + height, l.height());
    if (lx >= x1 || ly >= y1) {
      return out;
    }
    for (long row = ly / th; row * th < y1; row++) {
      for (long col = lx / tw; col * tw < x1; col++) {
        int[] tile = cached(l, level, col, row);
        long tx0 = col * tw;
        long ty0 = row * th;
        long sx0 = Math.max(lx, tx0);
        long sx1 = Math.min(x1, tx0 + tw);
        long sy0 = Math.max(ly, ty0);
        long sy1 = Math.min(y1, ty0 + th);
        int n = (int) (sx1 - sx0);
        for (long sy = sy0; sy < sy1; sy++) {
          System.arraycopy(tile, (int) ((sy - ty0) * tw + (sx0 - tx0)), out,
              (int) ((sy - ly) * width + (sx0 - lx)), n);
        }
      }
    }
    return out;
  }

  private int[] cached(Level l, int level, long col, long row) throws IOException {
    long key = ((long) level << 56) | (row << 28) | col;
    synchronized (cache) {
      int[] hit = cache.get(key);
      if (hit != null) {
        return hit;
      }
    }
    int[] tile = decode(l, col, row);
    synchronized (cache) {
      cache.put(key, tile);
    }
    return tile;
  }

  private int[] decode(Level l, long col, long row) throws IOException {
    byte[] jpeg = compressedTile(l, col, row);
    try {
      return TurboJpeg.forThread().decodeArgb(jpeg, jpeg.length, l.tileWidth(), l.tileHeight());
    } catch (IOException e) {
      throw new IOException("cannot read slide " + file + ": tile " + col + "," + row
          + " of level " + levels.indexOf(l) + ": " + e.getMessage(), e);
    }
  }

  /**
   * A stored tile as a self-contained JPEG stream: the directory's JPEGTables (quantisation and
   * Huffman tables) merged in front of the tile's own segments, nothing decoded or re-encoded.
   */
  public byte[] compressedTile(int level, long col, long row) throws IOException {
    checkOpen();
    return compressedTile(levels.get(metadata.level(level).index()), col, row);
  }

  private byte[] compressedTile(Level l, long col, long row) throws IOException {
    if (col < 0 || row < 0 || col >= l.across() || row >= l.down()) {
      throw new IllegalArgumentException("tile " + col + "," + row + " outside the "
          + l.across() + "x" + l.down() + " grid");
    }
    int i = (int) (row * l.across() + col);
    int count = (int) l.counts()[i];
    byte[] tables = l.tables();
    // Tables: SOI, segments, EOI. Tile: SOI, segments, EOI. Merged: SOI, tables' segments,
    // tile's segments, EOI.
    int head = tables == null ? 0 : tables.length - 2 - 2;
    byte[] out = new byte[head + count];
    ByteBuffer tileBytes = ByteBuffer.wrap(out, head, count);
    TiffFile.readFully(channel, l.offsets()[i], tileBytes);
    if (count < 4 || (out[head] & 0xff) != 0xff || (out[head + 1] & 0xff) != 0xd8) {
      throw new IOException("cannot read slide " + file + ": tile " + col + "," + row
          + " is not a JPEG stream; the file is probably corrupt");
    }
    if (tables != null) {
      // The tile's SOI moves to the front; the tables' segments follow it.
      System.arraycopy(tables, 0, out, 0, tables.length - 2);
    }
    return out;
  }

  /** Whether {@code level}'s stored tiles are {@code size}² pixels (so aligned reads are decodes). */
  public boolean storedTileSize(int level, int size) {
    Level l = levels.get(metadata.level(level).index());
    return l.tileWidth() == size && l.tileHeight() == size;
  }

  @Override
  public Optional<BufferedImage> associatedImage(String name) throws IOException {
    checkOpen();
    if (!metadata.associatedImages().contains(name)) {
      return Optional.empty();
    }
    return fallback().associatedImage(name);
  }

  private synchronized OpenSlideReader fallback() throws IOException {
    checkOpen();
    if (fallback == null) {
      fallback = OpenSlideReader.open(file);
    }
    return fallback;
  }

  private void checkOpen() throws IOException {
    if (closed) {
      throw new IOException("slide " + file + " is closed; open it again to read from it");
    }
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      channel.close();
    } catch (IOException e) {
      // Nothing was written; a failed close of a read-only channel loses nothing.
    }
    if (fallback != null) {
      fallback.close();
    }
  }

  @Override
  public String toString() {
    return "DirectTiffReader[" + file + "]";
  }
}
