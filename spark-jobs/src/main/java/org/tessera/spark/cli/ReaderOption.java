package org.tessera.spark.cli;

import org.tessera.wsi.ReaderKind;
import picocli.CommandLine.Option;

/** {@code --reader}: which implementation reads slide pixels, on every stage that reads them. */
final class ReaderOption {

  @Option(names = "--reader", paramLabel = "auto|direct|openslide",
      description = "Slide reader: auto (the direct TIFF reader for tiled JPEG Aperio and generic "
          + "TIFF, OpenSlide for everything else), direct (only the direct reader; other slides "
          + "fail) or openslide (default: ${DEFAULT-VALUE}).")
  String reader = "auto";

  ReaderKind kind() {
    return ReaderKind.parse(reader);
  }
}
