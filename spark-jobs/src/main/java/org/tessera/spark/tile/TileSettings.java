package org.tessera.spark.tile;

import java.io.Serializable;
import java.util.Locale;
import java.util.Set;
import org.tessera.wsi.ReaderKind;
import org.tessera.wsi.tiling.TilingParams;

/**
 * Options of one tile run beyond the tiling itself.
 *
 * @param tiling       which tiles each slide yields
 * @param storePixels  also store each tile's pixels in the index
 * @param pixelFormat  {@code jpeg}, {@code png} or {@code raw} (RGB bytes, row-major)
 * @param jpegQuality  1..100 when {@code pixelFormat} is jpeg
 * @param tilesPerTask with stored pixels, slides with more tiles are split into ranges of this size
 * @param overwrite    redo slides that are already done
 * @param cacheDir     executor-local folder for copies of slides on non-local file systems
 */
public record TileSettings(
    TilingParams tiling,
    boolean storePixels,
    String pixelFormat,
    int jpegQuality,
    int tilesPerTask,
    boolean overwrite,
    String cacheDir,
    ReaderKind reader) implements Serializable {

  private static final long serialVersionUID = 1L;
  public static final Set<String> PIXEL_FORMATS = Set.of("jpeg", "png", "raw");

  /** Settings that read slides with {@link ReaderKind#AUTO}. */
  public TileSettings(TilingParams tiling, boolean storePixels, String pixelFormat,
      int jpegQuality, int tilesPerTask, boolean overwrite, String cacheDir) {
    this(tiling, storePixels, pixelFormat, jpegQuality, tilesPerTask, overwrite, cacheDir,
        ReaderKind.AUTO);
  }

  public TileSettings {
    java.util.Objects.requireNonNull(reader, "reader");
    pixelFormat = pixelFormat.toLowerCase(Locale.ROOT);
    if (!PIXEL_FORMATS.contains(pixelFormat)) {
      throw new IllegalArgumentException("--pixel-format must be one of " + PIXEL_FORMATS + ", got "
          + pixelFormat);
    }
    if (jpegQuality < 1 || jpegQuality > 100) {
      throw new IllegalArgumentException("--jpeg-quality must be 1..100, got " + jpegQuality);
    }
    if (tilesPerTask < 1) {
      throw new IllegalArgumentException("--tiles-per-task must be >= 1, got " + tilesPerTask);
    }
  }
}
