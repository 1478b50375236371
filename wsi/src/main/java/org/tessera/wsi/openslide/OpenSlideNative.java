package org.tessera.wsi.openslide;

import com.sun.jna.Pointer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The libopenslide 3.4 C API as JNA direct-mapped natives: registration binds each method to its
 * symbol once, so a call costs a JNI transition rather than reflection and argument boxing.
 *
 * <p>Strings cross as NUL-terminated UTF-8 bytes and returned {@code const char *} as raw pointers,
 * so file and property names never depend on the JVM's default charset. Every function here is
 * unusable until {@link OpenSlideLoader} has registered this class.
 */
final class OpenSlideNative {
  private OpenSlideNative() {}

  static native Pointer openslide_detect_vendor(byte[] filename);

  static native Pointer openslide_open(byte[] filename);

  static native void openslide_close(Pointer osr);

  static native Pointer openslide_get_error(Pointer osr);

  static native int openslide_get_level_count(Pointer osr);

  static native void openslide_get_level_dimensions(Pointer osr, int level, long[] w, long[] h);

  static native double openslide_get_level_downsample(Pointer osr, int level);

  static native void openslide_read_region(
      Pointer osr, Pointer dest, long x, long y, int level, long w, long h);

  static native Pointer openslide_get_property_names(Pointer osr);

  static native Pointer openslide_get_property_value(Pointer osr, byte[] name);

  static native Pointer openslide_get_associated_image_names(Pointer osr);

  static native void openslide_get_associated_image_dimensions(
      Pointer osr, byte[] name, long[] w, long[] h);

  static native void openslide_read_associated_image(Pointer osr, byte[] name, Pointer dest);

  static native Pointer openslide_get_version();

  static byte[] cString(String s) {
    byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
    return Arrays.copyOf(utf8, utf8.length + 1);
  }

  /** A borrowed {@code const char *}, or null; OpenSlide owns the memory, so it is only copied. */
  static String string(Pointer p) {
    return p == null ? null : p.getString(0, StandardCharsets.UTF_8.name());
  }

  /** A borrowed NULL-terminated {@code const char * const *}. */
  static String[] strings(Pointer p) {
    return p.getStringArray(0, StandardCharsets.UTF_8.name());
  }
}
