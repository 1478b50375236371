package org.tessera.spark.collab;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class PatchScheduleTest {

  /** 100 patches over 4 shards (25 each) as the E-step would spread them; 2 per shard a batch. */
  private static int[] shardOf(int n, int shards) {
    int[] s = new int[n];
    for (int i = 0; i < n; i++) {
      s[i] = (i * 7) % shards;
    }
    return s;
  }

  /** The global batch as the union of every rank's local batch, by global patch index. */
  private static int[] global(int[] shardOf, int shards, int workers, int epoch, int step) {
    List<Integer> all = new ArrayList<>();
    for (int rank = 0; rank < workers; rank++) {
      // A worker holds only its shards' patches, indexed locally in global order.
      List<Integer> mine = new ArrayList<>();
      for (int i = 0; i < shardOf.length; i++) {
        if (shardOf[i] % workers == rank) {
          mine.add(i);
        }
      }
      int[] localShards = mine.stream().mapToInt(i -> shardOf[i]).toArray();
      PatchSchedule s = new PatchSchedule(localShards, shards, 2);
      for (int local : s.local(s.order(42, 1, epoch), step, rank, workers)) {
        all.add(mine.get(local));
      }
    }
    int[] out = all.stream().mapToInt(Integer::intValue).toArray();
    Arrays.sort(out);
    return out;
  }

  @Test
  void everyWorkerCountSeesTheSameGlobalBatches() {
    int[] shardOf = shardOf(100, 4);
    double[] sizes = new PatchSchedule(shardOf, 4, 2).shardSizes();
    assertArrayEquals(new double[] {25, 25, 25, 25}, sizes);
    assertEquals(12, PatchSchedule.steps(sizes, 2));
    for (int epoch = 0; epoch < 2; epoch++) {
      for (int step = 0; step < 12; step++) {
        int[] one = global(shardOf, 4, 1, epoch, step);
        assertEquals(8, one.length);
        assertArrayEquals(one, global(shardOf, 4, 2, epoch, step), "K=2 step " + step);
        assertArrayEquals(one, global(shardOf, 4, 4, epoch, step), "K=4 step " + step);
      }
    }
  }

  @Test
  void anEpochUsesEachPatchAtMostOnceAndEpochsDiffer() {
    int[] shardOf = shardOf(100, 4);
    boolean[] seen = new boolean[100];
    for (int step = 0; step < 12; step++) {
      for (int i : global(shardOf, 4, 2, 0, step)) {
        assertFalse(seen[i], "patch " + i + " twice in one epoch");
        seen[i] = true;
      }
    }
    assertFalse(Arrays.equals(global(shardOf, 4, 1, 0, 0), global(shardOf, 4, 1, 1, 0)));
  }

  @Test
  void theSmallestShardSetsTheSteps() {
    assertEquals(3, PatchSchedule.steps(new double[] {9, 7, 12}, 2));
    assertEquals(0, PatchSchedule.steps(new double[] {9, 1}, 2));
  }
}
