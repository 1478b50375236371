package org.tessera.spark.sync;

/**
 * A collective operation failed: a peer is gone, timed out or made a different call. The
 * collective that threw is closed, so its peers fail promptly too, and every later call throws.
 */
public class CollectiveException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public CollectiveException(String message) {
    super(message);
  }

  public CollectiveException(String message, Throwable cause) {
    super(message, cause);
  }
}
