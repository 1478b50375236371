package org.tessera.spark.sync;

import java.io.Serializable;
import java.time.Duration;

/**
 * Time limits and buffer size of a {@link RingCollective}. Shipped to barrier tasks with the
 * stage's closure, hence serializable.
 *
 * @param timeout longest wait for a peer to send or accept any byte during an all-reduce; a peer
 *     that is dead, stalled or stuck in a different call makes the others fail after this long
 *     instead of hanging; also, up to 10 s, how long a listener gives one connection to
 *     complete its handshake before dropping it
 * @param connectWindow how long connecting to and accepting from the ring neighbours keeps
 *     retrying, so workers that start a little later than others still join
 * @param segmentBytes bytes encoded or decoded per socket buffer: bounds the direct memory per
 *     collective and lets sending and receiving one chunk overlap
 */
public record RingSettings(Duration timeout, Duration connectWindow, int segmentBytes)
    implements Serializable {

  public RingSettings {
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive, got " + timeout);
    }
    if (connectWindow.isNegative() || connectWindow.isZero()) {
      throw new IllegalArgumentException("connectWindow must be positive, got " + connectWindow);
    }
    if (segmentBytes < 1024 || segmentBytes % Double.BYTES != 0) {
      throw new IllegalArgumentException(
          "segmentBytes must be a multiple of 8 and at least 1024, got " + segmentBytes);
    }
  }

  /** Five-minute timeout, two-minute connect window, 1 MiB segments. */
  public static RingSettings defaults() {
    return new RingSettings(Duration.ofMinutes(5), Duration.ofMinutes(2), 1 << 20);
  }

  public RingSettings withTimeout(Duration t) {
    return new RingSettings(t, connectWindow, segmentBytes);
  }

  public RingSettings withConnectWindow(Duration w) {
    return new RingSettings(timeout, w, segmentBytes);
  }

  public RingSettings withSegmentBytes(int bytes) {
    return new RingSettings(timeout, connectWindow, bytes);
  }
}
