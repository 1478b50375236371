package org.tessera.spark.sync;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Ranks that disagree or disappear: every rank fails with a message naming the problem or the
 * peer, promptly, and none hangs.
 */
class RingFailureTest {
  private static final RingSettings SHORT = RingSettings.defaults()
      .withTimeout(Duration.ofSeconds(2)).withConnectWindow(Duration.ofSeconds(5));

  @Test
  void aDifferentLengthOnOneRankFailsEveryRank() throws Exception {
    try (LoopbackRing ring = LoopbackRing.open(3, RingSettings.defaults())) {
      long start = System.nanoTime();
      List<String> errors = errors(ring.onEveryRank(c -> {
        c.allReduceSum(new float[16]);
        c.allReduceSum(new float[c.rank() == 1 ? 999 : 1000]);
        return null;
      }));
      // Default five-minute timeout: failing in seconds means the error travelled, not waited.
      assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(20));
      assertTrue(errors.get(1).contains("this rank has float[999] but rank 0"), errors.get(1));
      assertTrue(errors.get(2).contains("this rank has float[1000] but rank 1"), errors.get(2));
      // Rank 0 sees whichever neighbour dropped first.
      assertTrue(errors.get(0).matches(".*rank [12] \\(127\\.0\\.0\\.1:\\d+\\).*"),
          errors.get(0));
      for (String e : errors) {
        assertTrue(e.contains("all-reduce #2"), e);
      }
    }
  }

  @Test
  void aDifferentElementTypeFailsEveryRank() throws Exception {
    try (LoopbackRing ring = LoopbackRing.open(2, RingSettings.defaults())) {
      List<String> errors = errors(ring.onEveryRank(c -> {
        if (c.rank() == 0) {
          c.allReduceSum(new double[10]);
        } else {
          c.allReduceSum(new float[10]);
        }
        return null;
      }));
      assertTrue(errors.get(0).contains("this rank has double[10] but rank 1"), errors.get(0));
      assertTrue(errors.get(1).contains("this rank has float[10] but rank 0"), errors.get(1));
    }
  }

  @Test
  void aPeerThatClosesMidCallFailsTheOthersBeforeTheTimeout() throws Exception {
    try (LoopbackRing ring = LoopbackRing.open(3, SHORT)) {
      long start = System.nanoTime();
      List<String> errors = errors(ring.onEveryRank(c -> {
        c.allReduceSum(new float[100_000]);
        if (c.rank() == 2) {
          Thread.sleep(300);
          c.close();
        } else {
          c.allReduceSum(new float[100_000]);
        }
        return null;
      }).subList(0, 2));
      assertTrue(System.nanoTime() - start < SHORT.timeout().toNanos(), "took the timeout");
      assertTrue(errors.get(0).contains("rank 2 (127.0.0.1:"), errors.get(0));
      assertTrue(errors.get(0).contains("closed the connection"), errors.get(0));
      assertTrue(errors.get(1).contains("rank 0 (127.0.0.1:"), errors.get(1));
      CollectiveException after = assertThrows(CollectiveException.class,
          () -> ring.ranks.get(0).allReduceSum(new float[1]));
      assertTrue(after.getMessage().contains("closed collective"), after.getMessage());
    }
  }

  @Test
  void aPeerThatStopsCallingTimesOutTheOthers() throws Exception {
    try (LoopbackRing ring = LoopbackRing.open(3, SHORT)) {
      long start = System.nanoTime();
      List<String> errors = errors(ring.onEveryRank(c -> {
        if (c.rank() != 2) {
          c.allReduceSum(new double[1000]);
        }
        return null;
      }).subList(0, 2));
      long took = System.nanoTime() - start;
      assertTrue(took >= SHORT.timeout().toNanos() && took < 3 * SHORT.timeout().toNanos(),
          "took " + took / 1e9 + " s");
      assertTrue(errors.get(0).contains("waited PT2S for rank 2 (127.0.0.1:"), errors.get(0));
      // Rank 1 waits on rank 0, which fails first and closes, or times out itself.
      assertTrue(errors.get(1).contains("rank 0 (127.0.0.1:"), errors.get(1));
    }
  }

  @Test
  void aMissingPeerFailsTheConnectWithinTheWindow() throws Exception {
    RingEndpoint alone = RingEndpoint.bind(java.net.InetAddress.getLoopbackAddress());
    RingEndpoint absent = RingEndpoint.bind(java.net.InetAddress.getLoopbackAddress());
    List<java.net.InetSocketAddress> peers = List.of(alone.address(), absent.address());
    absent.close();
    long start = System.nanoTime();
    java.io.IOException e = assertThrows(java.io.IOException.class, () -> alone.connect(0, peers,
        SHORT.withConnectWindow(Duration.ofSeconds(1)), LoopbackRing.sameKey(1).get(0)));
    assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5));
    assertTrue(e.getMessage().contains("could not connect to rank 1 (127.0.0.1:"), e.getMessage());
  }

  /** Each future's failure message; fails the test if one completed or took over a minute. */
  private static List<String> errors(List<Future<Object>> futures) throws Exception {
    List<String> out = new ArrayList<>();
    for (Future<Object> f : futures) {
      ExecutionException e = assertThrows(ExecutionException.class,
          () -> f.get(60, TimeUnit.SECONDS));
      assertInstanceOf(CollectiveException.class, e.getCause(), () -> e.getCause().toString());
      out.add(e.getCause().getMessage());
    }
    return out;
  }
}
