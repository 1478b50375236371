package org.tessera.wsi.openslide;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import java.util.List;
import java.util.Optional;

/**
 * Finds libopenslide and binds {@link OpenSlideNative} to it, once per JVM.
 *
 * <p>By default the system library is used ({@code openslide}, then {@code libopenslide.so.0}: the
 * Debian runtime package ships only the versioned file). Setting the system property {@value
 * #LIBRARY_PROPERTY} to a file path uses exactly that file and nothing else, so a cluster image
 * with its own OpenSlide build cannot silently fall back to a different one.
 *
 * <p>A missing library is a broken deployment, not a bad slide, so it surfaces as an unchecked
 * {@link IllegalStateException} with one actionable line: callers that skip unreadable slides by
 * catching {@link java.io.IOException} must not quietly skip every slide of a cohort.
 */
public final class OpenSlideLoader {
  /** System property with an explicit path to the libopenslide library; read on first use. */
  public static final String LIBRARY_PROPERTY = "tessera.openslide.library";

  private static final List<String> LIBRARY_NAMES = List.of("openslide", "libopenslide.so.0");

  private OpenSlideLoader() {}

  /** Whether libopenslide could be loaded; never throws. */
  public static boolean isAvailable() {
    return Once.FAILURE.isEmpty();
  }

  /**
   * Makes sure libopenslide is loaded and bound.
   *
   * @throws IllegalStateException with a one-line explanation and fix when it cannot be
   */
  public static void load() {
    Once.FAILURE.ifPresent(failure -> {
      throw new IllegalStateException(failure.message(), failure.cause());
    });
  }

  /** The loaded library's version string, e.g. {@code 3.4.1}. */
  public static String version() {
    load();
    return OpenSlideNative.string(OpenSlideNative.openslide_get_version());
  }

  /** Why loading failed: one line for people, and the linker's own error for debugging. */
  record Failure(String message, UnsatisfiedLinkError cause) {}

  // Holder idiom: the JVM runs attempt() once, on first use, and publishes its outcome safely.
  private static final class Once {
    static final Optional<Failure> FAILURE = attempt(System.getProperty(LIBRARY_PROPERTY));
  }

  /** Loads and binds the library; empty on success. Package-private so tests can try bad paths. */
  static Optional<Failure> attempt(String explicitPath) {
    NativeLibrary library;
    if (explicitPath != null && !explicitPath.isBlank()) {
      try {
        library = NativeLibrary.getInstance(explicitPath);
      } catch (UnsatisfiedLinkError e) {
        return Optional.of(new Failure("libopenslide could not be loaded from " + explicitPath
            + " (set by -D" + LIBRARY_PROPERTY + "): " + linkerReason(e)
            + "; fix the path, or unset the property to use the system library", e));
      }
    } else {
      UnsatisfiedLinkError last = null;
      library = null;
      for (String name : LIBRARY_NAMES) {
        try {
          library = NativeLibrary.getInstance(name);
          break;
        } catch (UnsatisfiedLinkError e) {
          last = e;
        }
      }
      if (library == null) {
        return Optional.of(new Failure("libopenslide is not installed (looked for "
            + String.join(", ", LIBRARY_NAMES) + "): install it with"
            + " `apt-get install -y libopenslide0`, or set -D" + LIBRARY_PROPERTY
            + " to the library file", last));
      }
    }
    try {
      Native.register(OpenSlideNative.class, library);
    } catch (UnsatisfiedLinkError e) {
      return Optional.of(new Failure(library.getFile() + " is not a usable libopenslide ("
          + linkerReason(e) + "): Tessera needs OpenSlide 3.4 or newer", e));
    }
    return Optional.empty();
  }

  // JNA's message starts with "Unable to load library 'x':" and puts dlopen's reason on the next
  // line, followed by every other place it searched; the reason is the part worth one line.
  private static String linkerReason(UnsatisfiedLinkError e) {
    String[] lines = String.valueOf(e.getMessage()).split("\\R");
    return (lines.length > 1 ? lines[1] : lines[0]).trim();
  }
}
