package org.tessera.wsi.openslide;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A file that cannot be opened as a slide: missing, empty, truncated, corrupt or in a format
 * OpenSlide does not read. The message is one line that names the file and says what to do, so a
 * cohort run can log it and move on to the next slide.
 */
public final class SlideOpenException extends IOException {
  // A String, not a Path: Spark ships task failures to the driver by Java serialization, and Path
  // is not Serializable.
  private final String file;

  public SlideOpenException(Path file, String problem) {
    super("cannot open slide " + file + ": " + problem);
    this.file = file.toString();
  }

  /** The file that could not be opened. */
  public Path file() {
    return Path.of(file);
  }
}
