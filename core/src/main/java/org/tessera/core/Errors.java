package org.tessera.core;

import java.nio.file.NoSuchFileException;

/** Turning failures into the one-line reasons that slide tables and the console report. */
public final class Errors {
  private Errors() {}

  /** The exception's message on one line (its class name when it has none). */
  public static String oneLine(Throwable e) {
    String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    if (e instanceof NoSuchFileException nsf && nsf.getReason() != null) {
      msg = nsf.getReason() + ": " + nsf.getFile();
    }
    return msg.replaceAll("\\s*[\\r\\n]+\\s*", " ").trim();
  }
}
