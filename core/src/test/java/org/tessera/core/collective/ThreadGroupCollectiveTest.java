package org.tessera.core.collective;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class ThreadGroupCollectiveTest {

  @Test
  void everyRankGetsTheSameSumInRankOrder() throws Exception {
    List<Collective> group = ThreadGroupCollective.create(3, 10_000);
    ExecutorService pool = Executors.newFixedThreadPool(3);
    try {
      List<Future<float[]>> results = new ArrayList<>();
      for (Collective c : group) {
        results.add(pool.submit(() -> {
          float[] f = {1e8f * (c.rank() == 0 ? 1 : c.rank() == 1 ? -1 : 0), c.rank() + 0.25f};
          c.allReduceSum(f);
          double[] d = {c.rank()};
          c.allReduceSum(d);
          return new float[] {f[0], f[1], (float) d[0]};
        }));
      }
      float[] first = results.get(0).get();
      // Rank order: (1e8 - 1e8) + 0, then 0.25 + 1.25 + 2.25.
      assertArrayEquals(new float[] {0f, 3.75f, 3f}, first);
      for (Future<float[]> r : results) {
        assertArrayEquals(first, r.get());
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aMissingMemberFailsInsteadOfHanging() {
    List<Collective> group = ThreadGroupCollective.create(2, 200);
    assertEquals(1, group.get(1).rank());
    long start = System.nanoTime();
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> group.get(0).allReduceSum(new float[1]));
    assertTrue(e.getMessage().contains("rank 0"), e.getMessage());
    assertTrue((System.nanoTime() - start) / 1e9 < 5);
  }
}
