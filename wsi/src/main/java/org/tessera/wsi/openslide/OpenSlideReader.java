package org.tessera.wsi.openslide;

import static org.tessera.wsi.openslide.OpenSlideNative.cString;
import static org.tessera.wsi.openslide.OpenSlideNative.string;
import static org.tessera.wsi.openslide.OpenSlideNative.strings;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.DataBufferInt;
import java.awt.image.DirectColorModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.io.InputStream;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.tessera.wsi.LevelInfo;
import org.tessera.wsi.SlideMetadata;
import org.tessera.wsi.SlideReader;

/**
 * A slide read through libopenslide.
 *
 * <p>OpenSlide errors are sticky: once a call fails, the handle answers every later call with the
 * same error. The native error is checked after every call, so the first failure and every call
 * after it throw an {@link IOException} naming the file and OpenSlide's message; only {@link
 * #metadata()}, read once at open, stays available.
 *
 * <p>Reads may run concurrently from any number of threads (the OpenSlide handle is thread-safe).
 * {@link #close()} waits for reads in flight and then frees the handle; a reader that is never
 * closed has its handle freed by a {@link Cleaner} once it is unreachable.
 */
public final class OpenSlideReader implements SlideReader {
  // The formats of OpenSlide 3.4, the version Debian ships; newer releases only add to it.
  private static final String SUPPORTED_FORMATS = "Aperio SVS/TIFF, Hamamatsu NDPI/VMS/VMU,"
      + " Leica SCN, MIRAX MRXS, Philips TIFF, Sakura SVSLIDE, Trestle TIFF, Ventana BIF/TIFF,"
      + " generic tiled pyramidal TIFF";

  private static final Cleaner CLEANER = Cleaner.create();

  // The largest int[] HotSpot allocates.

  // A thread keeps its read buffer up to a 1024x1024 region: tile reads then allocate no native
  // memory, while a one-off huge read does not pin its buffer for the life of an executor thread.
  private static final long KEPT_BUFFER_BYTES = 4L << 20;
  private static final ThreadLocal<Memory> READ_BUFFER = new ThreadLocal<>();

  private final Path file;
  private final Handle handle;
  private final Cleaner.Cleanable cleanable;
  private final SlideMetadata metadata;

  private OpenSlideReader(Path file, Pointer osr, SlideMetadata metadata) {
    this.file = file;
    this.handle = new Handle(osr);
    this.cleanable = CLEANER.register(this, handle);
    this.metadata = metadata;
  }

  /**
   * Opens a slide.
   *
   * @throws SlideOpenException    when the file is missing, empty, truncated, corrupt or not in a
   *                               format OpenSlide reads
   * @throws IllegalStateException when libopenslide itself is not installed
   */
  public static OpenSlideReader open(Path path) throws IOException {
    OpenSlideLoader.load();
    Path file = path.toAbsolutePath().normalize();
    checkFile(file);
    byte[] filename = cString(file.toString());

    String vendor = string(OpenSlideNative.openslide_detect_vendor(filename));
    if (vendor == null) {
      throw new SlideOpenException(file, looksLikeTiff(file)
          ? "a TIFF that OpenSlide does not recognise as a slide: it is probably truncated or"
              + " corrupt (copy it again from the source), or it is not a tiled pyramid (re-save"
              + " it with `vips tiffsave --tile --pyramid`)"
          : "not a format OpenSlide recognises (vendor detection failed); supported: "
              + SUPPORTED_FORMATS);
    }
    Pointer osr = OpenSlideNative.openslide_open(filename);
    if (osr == null) {
      throw new SlideOpenException(file, "OpenSlide detected vendor " + vendor
          + " but could not open it; the file is probably corrupt: copy it again from the source");
    }
    boolean opened = false;
    try {
      checkOpenError(file, osr);
      OpenSlideReader reader = new OpenSlideReader(file, osr, readMetadata(file, vendor, osr));
      opened = true;
      return reader;
    } finally {
      if (!opened) {
        OpenSlideNative.openslide_close(osr);
      }
    }
  }

  /**
   * The vendor OpenSlide detects for a file ({@code aperio}, {@code generic-tiff}, ...), empty when
   * it recognises none. Cheap: it reads the file's header and first directory, opens nothing.
   */
  public static Optional<String> detectVendor(Path path) {
    OpenSlideLoader.load();
    return Optional.ofNullable(string(OpenSlideNative.openslide_detect_vendor(
        cString(path.toAbsolutePath().normalize().toString()))));
  }

  @Override
  public SlideMetadata metadata() {
    return metadata;
  }

  @Override
  public int[] readArgb(long x, long y, int level, int width, int height) throws IOException {
    long pixels = SlideReader.regionPixels(metadata, level, width, height);
    int[] argb = new int[(int) pixels];
    long bytes = pixels * Integer.BYTES;
    boolean kept = bytes <= KEPT_BUFFER_BYTES;
    Memory buffer = kept ? threadBuffer(bytes) : new Memory(bytes);
    try {
      guarded(osr -> {
        OpenSlideNative.openslide_read_region(osr, buffer, x, y, level, width, height);
        checkError(osr);
        buffer.read(0, argb, 0, argb.length);
        return null;
      });
    } finally {
      if (!kept) {
        buffer.close();
      }
    }
    PremultipliedArgb.unpremultiply(argb);
    return argb;
  }

  @Override
  public Optional<BufferedImage> associatedImage(String name) throws IOException {
    Objects.requireNonNull(name, "name");
    return guarded(osr -> {
      if (!metadata.associatedImages().contains(name)) {
        return Optional.empty();
      }
      byte[] cName = cString(name);
      long[] w = new long[1];
      long[] h = new long[1];
      OpenSlideNative.openslide_get_associated_image_dimensions(osr, cName, w, h);
      checkError(osr);
      long pixels = w[0] * h[0];
      if (pixels <= 0 || pixels > SlideReader.MAX_REGION_PIXELS) {
        throw new IOException("cannot read associated image '" + name + "' of slide " + file
            + ": OpenSlide reports an unusable size " + w[0] + "x" + h[0]);
      }
      int[] argb = new int[(int) pixels];
      try (Memory buffer = new Memory(pixels * Integer.BYTES)) {
        OpenSlideNative.openslide_read_associated_image(osr, cName, buffer);
        checkError(osr);
        buffer.read(0, argb, 0, argb.length);
      }
      PremultipliedArgb.unpremultiply(argb);
      return Optional.of(argbImage(argb, (int) w[0], (int) h[0]));
    });
  }

  /** Frees the native handle after reads in flight finish; later reads throw. Idempotent. */
  @Override
  public void close() {
    cleanable.clean();
  }

  @Override
  public String toString() {
    return "OpenSlideReader[" + file + "]";
  }

  private interface NativeWork<T> {
    T run(Pointer osr) throws IOException;
  }

  private <T> T guarded(NativeWork<T> work) throws IOException {
    Lock lock = handle.lock.readLock();
    lock.lock();
    try {
      if (handle.closed) {
        throw new IOException("slide " + file + " is closed; open it again to read from it");
      }
      // A handle that failed earlier must not look healthy to a call that has nothing to read.
      checkError(handle.osr);
      return work.run(handle.osr);
    } finally {
      lock.unlock();
      // Without this fence the JIT may treat the reader as unreachable while native code still
      // uses the handle, and the Cleaner would free it mid-read.
      Reference.reachabilityFence(this);
    }
  }

  private void checkError(Pointer osr) throws IOException {
    String error = string(OpenSlideNative.openslide_get_error(osr));
    if (error != null) {
      throw new IOException("cannot read slide " + file + ": OpenSlide reports \"" + oneLine(error)
          + "\"; the file is probably truncated or corrupt (copy it again), and this reader"
          + " keeps failing until the slide is reopened");
    }
  }

  private static void checkFile(Path file) throws SlideOpenException {
    if (!Files.exists(file)) {
      throw new SlideOpenException(file, "no such file; check the path and that the slide is"
          + " visible on this machine");
    }
    if (Files.isDirectory(file)) {
      throw new SlideOpenException(file, "is a directory; pass the slide file itself (for MIRAX,"
          + " the .mrxs file next to its data directory)");
    }
    if (!Files.isReadable(file)) {
      throw new SlideOpenException(file, "not readable by this user; fix its permissions");
    }
    long size;
    try {
      size = Files.size(file);
    } catch (IOException e) {
      throw new SlideOpenException(file, "cannot read its size (" + oneLine(e.toString()) + ")");
    }
    if (size == 0) {
      throw new SlideOpenException(file, "the file is empty (0 bytes), so a copy or export was"
          + " interrupted; copy it again from the source");
    }
  }

  private static boolean looksLikeTiff(Path file) {
    byte[] head = new byte[4];
    try (InputStream in = Files.newInputStream(file)) {
      if (in.readNBytes(head, 0, 4) < 4) {
        return false;
      }
    } catch (IOException e) {
      return false;
    }
    boolean little = head[0] == 'I' && head[1] == 'I' && head[3] == 0;
    boolean big = head[0] == 'M' && head[1] == 'M' && head[2] == 0;
    int magic = little ? head[2] : big ? head[3] : -1;
    // 42: classic TIFF, 43: BigTIFF.
    return magic == 42 || magic == 43;
  }

  private static SlideMetadata readMetadata(Path file, String vendor, Pointer osr)
      throws SlideOpenException {
    int levelCount = OpenSlideNative.openslide_get_level_count(osr);
    checkOpenError(file, osr);
    List<LevelInfo> levels = new ArrayList<>(levelCount);
    long[] w = new long[1];
    long[] h = new long[1];
    for (int i = 0; i < levelCount; i++) {
      OpenSlideNative.openslide_get_level_dimensions(osr, i, w, h);
      checkOpenError(file, osr);
      double downsample = OpenSlideNative.openslide_get_level_downsample(osr, i);
      checkOpenError(file, osr);
      levels.add(new LevelInfo(i, w[0], h[0], downsample));
    }

    Pointer names = OpenSlideNative.openslide_get_property_names(osr);
    checkOpenError(file, osr);
    Map<String, String> properties = new HashMap<>();
    for (String name : strings(names)) {
      String value = string(OpenSlideNative.openslide_get_property_value(osr, cString(name)));
      checkOpenError(file, osr);
      properties.put(name, value);
    }

    Pointer associated = OpenSlideNative.openslide_get_associated_image_names(osr);
    checkOpenError(file, osr);
    List<String> associatedImages = List.of(strings(associated));

    return new SlideMetadata(vendor, levels,
        number(properties.get("openslide.mpp-x")),
        number(properties.get("openslide.mpp-y")),
        number(properties.get("openslide.objective-power")),
        properties, associatedImages);
  }

  private static void checkOpenError(Path file, Pointer osr) throws SlideOpenException {
    String error = string(OpenSlideNative.openslide_get_error(osr));
    if (error != null) {
      throw new SlideOpenException(file, "OpenSlide reports \"" + oneLine(error) + "\"; the file"
          + " is probably truncated or corrupt: copy it again from the source");
    }
  }

  // Vendor properties are copied verbatim from the file (Aperio's AppMag is free text), so an
  // unparsable value means "not recorded", not a broken slide.
  private static OptionalDouble number(String value) {
    if (value == null) {
      return OptionalDouble.empty();
    }
    try {
      double parsed = Double.parseDouble(value.trim());
      return Double.isFinite(parsed) && parsed > 0 ? OptionalDouble.of(parsed)
          : OptionalDouble.empty();
    } catch (NumberFormatException e) {
      return OptionalDouble.empty();
    }
  }

  // Native and libtiff messages can span lines; log readers and our contract want one.
  private static String oneLine(String message) {
    return message.strip().replaceAll("\\s*\\R\\s*", " ");
  }

  private static Memory threadBuffer(long bytes) {
    Memory buffer = READ_BUFFER.get();
    if (buffer == null || buffer.size() < bytes) {
      if (buffer != null) {
        buffer.close();
      }
      buffer = new Memory(bytes);
      READ_BUFFER.set(buffer);
    }
    return buffer;
  }

  // Wraps the pixels without copying; this colour model and packed raster make TYPE_INT_ARGB.
  private static BufferedImage argbImage(int[] argb, int width, int height) {
    DirectColorModel model = (DirectColorModel) ColorModel.getRGBdefault();
    WritableRaster raster = Raster.createPackedRaster(
        new DataBufferInt(argb, argb.length), width, height, width, model.getMasks(), null);
    return new BufferedImage(model, raster, false, null);
  }

  /**
   * The native handle and what guards it. It is also the Cleaner's action, so it must not refer to
   * the reader, or the reader would never become unreachable.
   */
  private static final class Handle implements Runnable {
    final Pointer osr;
    final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    boolean closed; // guarded by lock

    Handle(Pointer osr) {
      this.osr = osr;
    }

    // Runs at most once: from close(), or from the Cleaner when the reader became unreachable.
    @Override
    public void run() {
      Lock write = lock.writeLock();
      write.lock();
      try {
        closed = true;
        OpenSlideNative.openslide_close(osr);
      } finally {
        write.unlock();
      }
    }
  }
}
