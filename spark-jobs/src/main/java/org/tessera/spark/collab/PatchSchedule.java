package org.tessera.spark.collab;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * Which patches make up each global batch of the encoder M-step, independently of how many
 * workers share the work. The training patches are spread over V virtual shards (by the E-step,
 * from the seed alone); every epoch each shard is shuffled by (seed, round, epoch, shard), and
 * global batch s takes the s-th run of {@code perShard} patches from every shard. Worker w of K
 * trains the shards v with {@code v % K == w}, concatenated in shard order. So K workers see
 * exactly the global batches one worker would, and with synchronized BatchNorm and summed
 * gradients they take the same steps.
 */
final class PatchSchedule {
  private final List<List<Integer>> shards;
  private final int perShard;

  /**
   * @param shardOf  each training patch's shard, by patch index
   * @param shards   V
   * @param perShard patches each shard gives to one global batch
   */
  PatchSchedule(int[] shardOf, int shards, int perShard) {
    this.perShard = perShard;
    this.shards = new ArrayList<>();
    for (int v = 0; v < shards; v++) {
      this.shards.add(new ArrayList<>());
    }
    for (int i = 0; i < shardOf.length; i++) {
      this.shards.get(shardOf[i]).add(i);
    }
  }

  /** Patches per shard held here; summed over the workers it gives {@link #steps}' input. */
  double[] shardSizes() {
    double[] n = new double[shards.size()];
    for (int v = 0; v < n.length; v++) {
      n[v] = shards.get(v).size();
    }
    return n;
  }

  /**
   * Global batches per epoch for the whole group's shard sizes: the smallest shard decides; its
   * remainder, and the other shards' surplus, are reached in other epochs' shuffles.
   */
  static int steps(double[] shardSizes, int perShard) {
    int min = Integer.MAX_VALUE;
    for (double n : shardSizes) {
      min = Math.min(min, (int) n / perShard);
    }
    return min;
  }

  /**
   * Why the training patches of a round cannot make one global batch, naming the options to
   * change; null when they can. Checked on the driver once the patch set is cut, before any
   * worker starts.
   */
  static String shortfall(int round, double[] shardSizes, int patchBatch, int perShard) {
    if (steps(shardSizes, perShard) > 0) {
      return null;
    }
    long total = 0;
    long smallest = Long.MAX_VALUE;
    for (double n : shardSizes) {
      total += (long) n;
      smallest = Math.min(smallest, (long) n);
    }
    return "round " + round + ": the E-step gave " + total + " training patches, too few for one "
        + "global batch of " + patchBatch + " (--patch-batch " + patchBatch + " takes "
        + perShard + " from each of --shards " + shardSizes.length + "; the smallest shard has "
        + smallest + "): lower --patch-batch, or --shards with --workers at most that, raise "
        + "--pseudo-fraction, or add slides or tiles per slide; this RUN keeps its settings, so "
        + "start again with another --out";
  }

  int globalBatch() {
    return perShard * shards.size();
  }

  /** Every shard's patches in the order epoch {@code epoch} takes them, drawn once per epoch. */
  List<List<Integer>> order(long seed, int round, int epoch) {
    List<List<Integer>> out = new ArrayList<>(shards.size());
    for (int v = 0; v < shards.size(); v++) {
      out.add(shuffled(seed, round, epoch, v));
    }
    return out;
  }

  /**
   * The patch indices worker {@code rank} of {@code workers} trains in step {@code step} of the
   * epoch whose {@link #order} is given.
   */
  int[] local(List<List<Integer>> order, int step, int rank, int workers) {
    List<Integer> out = new ArrayList<>();
    for (int v = rank; v < shards.size(); v += workers) {
      out.addAll(order.get(v).subList(step * perShard, (step + 1) * perShard));
    }
    return out.stream().mapToInt(Integer::intValue).toArray();
  }

  private List<Integer> shuffled(long seed, int round, int epoch, int v) {
    List<Integer> order = new ArrayList<>(shards.get(v));
    long mix = seed * 0x9E3779B97F4A7C15L + round * 1_000_003L + epoch * 7919L + v;
    Collections.shuffle(order, new Random(mix));
    return order;
  }
}
