package org.tessera.spark.sync;

import java.io.Serializable;

/**
 * Cumulative traffic and time of one worker's all-reduces, so a training loop can report the
 * synchronisation overhead of each step ({@link #minus} of two snapshots).
 *
 * @param calls all-reduce calls completed or failed
 * @param bytesSent bytes written to the ring (headers included)
 * @param bytesReceived bytes read from the ring (headers included)
 * @param nanos wall time spent inside all-reduce calls
 */
public record SyncStats(long calls, long bytesSent, long bytesReceived, long nanos)
    implements Serializable {

  public static final SyncStats ZERO = new SyncStats(0, 0, 0, 0);

  /** What happened between {@code earlier} and this snapshot. */
  public SyncStats minus(SyncStats earlier) {
    return new SyncStats(calls - earlier.calls, bytesSent - earlier.bytesSent,
        bytesReceived - earlier.bytesReceived, nanos - earlier.nanos);
  }

  public double seconds() {
    return nanos / 1e9;
  }
}
