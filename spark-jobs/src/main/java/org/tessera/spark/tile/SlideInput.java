package org.tessera.spark.tile;

import java.io.Serializable;

/**
 * One slide to process: its id in every output and its location (any Hadoop file system URI).
 *
 * @param slideId safe, unique id
 * @param path    fully qualified path
 * @param bytes   file size (0 when the file does not exist: the slide then fails with a reason)
 */
public record SlideInput(String slideId, String path, long bytes) implements Serializable {
  private static final long serialVersionUID = 1L;
}
