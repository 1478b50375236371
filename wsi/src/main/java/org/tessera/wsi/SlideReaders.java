package org.tessera.wsi;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import org.tessera.wsi.openslide.OpenSlideReader;
import org.tessera.wsi.tiff.DirectTiffReader;

/**
 * The one place that chooses a {@link SlideReader} implementation for a file. Everything that
 * reads pixels opens slides here, so the choice ({@link ReaderKind}) is made once and recorded.
 */
public final class SlideReaders {
  private SlideReaders() {}

  /** Opens a slide with the reader {@code kind} selects (see {@link ReaderKind}). */
  public static SlideReader open(Path path, ReaderKind kind) throws IOException {
    return switch (kind) {
      case OPENSLIDE -> OpenSlideReader.open(path);
      case DIRECT -> DirectTiffReader.open(path);
      case AUTO -> DirectTiffReader.unsupported(path).isEmpty()
          ? DirectTiffReader.open(path) : OpenSlideReader.open(path);
    };
  }

  /**
   * Why {@code auto} hands a file to OpenSlide (empty when the direct reader takes it): the
   * vendor, compression or colour layout the direct reader does not reproduce exactly.
   */
  public static Optional<String> directReaderRefusal(Path path) {
    return DirectTiffReader.unsupported(path);
  }

  /** The implementation {@code kind} picks for this file: {@code direct} or {@code openslide}. */
  public static String implementation(Path path, ReaderKind kind) {
    return switch (kind) {
      case OPENSLIDE -> "openslide";
      case DIRECT -> "direct";
      case AUTO -> DirectTiffReader.unsupported(path).isEmpty() ? "direct" : "openslide";
    };
  }

  /** The implementation name of an open reader: {@code direct} or {@code openslide}. */
  public static String implementation(SlideReader reader) {
    return reader instanceof DirectTiffReader ? "direct" : "openslide";
  }
}
