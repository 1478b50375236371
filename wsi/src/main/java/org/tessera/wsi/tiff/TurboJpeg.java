package org.tessera.wsi.tiff;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * JPEG decoding through libturbojpeg (the TurboJPEG 2 C API of libjpeg-turbo), as JNA
 * direct-mapped natives.
 *
 * <p>Decodes use flags 0: the accurate integer IDCT and fancy (smooth) chroma upsampling, the
 * defaults of libjpeg's {@code jpeg_decompress}, which is what libtiff (and so OpenSlide) decodes
 * JPEG-in-TIFF tiles with. With Debian's libturbojpeg0 and libjpeg62-turbo built from one source,
 * the same stream gives the same bytes through either library.
 */
public final class TurboJpeg {
  private static final List<String> LIBRARY_NAMES = List.of("turbojpeg", "libturbojpeg.so.0");

  /** TJPF_BGRA: bytes B, G, R, A; read as a little-endian int that is 0xAARRGGBB. */
  static final int TJPF_BGRA = 8;

  private TurboJpeg() {}

  static native Pointer tjInitDecompress();

  static native int tjDecompressHeader3(Pointer handle, Pointer jpeg, long size, int[] width,
      int[] height, int[] subsamp, int[] colorspace);

  static native int tjDecompress2(Pointer handle, Pointer jpeg, long size, Pointer dst, int width,
      int pitch, int height, int pixelFormat, int flags);

  static native int tjDestroy(Pointer handle);

  static native Pointer tjGetErrorStr2(Pointer handle);

  private static final class Once {
    static final Optional<String> FAILURE = attempt();
  }

  private static Optional<String> attempt() {
    UnsatisfiedLinkError last = null;
    for (String name : LIBRARY_NAMES) {
      try {
        Native.register(TurboJpeg.class, NativeLibrary.getInstance(name));
        return Optional.empty();
      } catch (UnsatisfiedLinkError e) {
        last = e;
      }
    }
    return Optional.of("libturbojpeg is not installed or not usable (looked for "
        + String.join(", ", LIBRARY_NAMES) + "): install it with `apt-get install -y"
        + " libturbojpeg0` (" + String.valueOf(last.getMessage()).split("\\R")[0] + ")");
  }

  /** Whether libturbojpeg could be loaded; never throws. */
  public static boolean isAvailable() {
    return Once.FAILURE.isEmpty();
  }

  /** @throws IllegalStateException with the fix when libturbojpeg cannot be loaded */
  public static void load() {
    Once.FAILURE.ifPresent(message -> {
      throw new IllegalStateException(message);
    });
  }

  /**
   * A per-thread decompressor with its native input and output buffers, reused across tiles.
   * Not thread-safe: each thread takes its own from {@link #forThread()}.
   */
  public static final class Decoder {
    private final Pointer handle;
    private Memory in = new Memory(1 << 16);
    private Memory out = new Memory(256 * 256 * 4);
    private final int[] w = new int[1];
    private final int[] h = new int[1];
    private final int[] sub = new int[1];
    private final int[] cs = new int[1];

    private Decoder() {
      load();
      handle = tjInitDecompress();
      if (handle == null) {
        throw new IllegalStateException("tjInitDecompress failed");
      }
    }

    /**
     * Decodes a complete JPEG stream to opaque 0xAARRGGBB ints, row-major.
     *
     * @param expectedWidth  the size the stream must have (the TIFF tile size)
     * @param expectedHeight likewise
     */
    public int[] decodeArgb(byte[] jpeg, int length, int expectedWidth, int expectedHeight)
        throws IOException {
      if (in.size() < length) {
        in.close();
        in = new Memory(Math.max(length, in.size() * 2));
      }
      in.write(0, jpeg, 0, length);
      if (tjDecompressHeader3(handle, in, length, w, h, sub, cs) != 0) {
        throw new IOException("cannot read JPEG header: " + error());
      }
      if (w[0] != expectedWidth || h[0] != expectedHeight) {
        throw new IOException("JPEG tile is " + w[0] + "x" + h[0] + ", expected "
            + expectedWidth + "x" + expectedHeight);
      }
      long bytes = 4L * w[0] * h[0];
      if (out.size() < bytes) {
        out.close();
        out = new Memory(bytes);
      }
      if (tjDecompress2(handle, in, length, out, w[0], 4 * w[0], h[0], TJPF_BGRA, 0) != 0) {
        throw new IOException("cannot decode JPEG tile: " + error());
      }
      int[] px = new int[w[0] * h[0]];
      out.read(0, px, 0, px.length);
      return px;
    }

    private String error() {
      Pointer p = tjGetErrorStr2(handle);
      return p == null ? "unknown error" : p.getString(0);
    }
  }

  private static final ThreadLocal<Decoder> DECODERS = ThreadLocal.withInitial(Decoder::new);

  /** This thread's decoder. */
  public static Decoder forThread() {
    return DECODERS.get();
  }
}
