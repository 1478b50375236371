package org.tessera.core.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Which bags make up each step: every epoch shuffles the training slides with a generator seeded
 * by (run seed, epoch) and cuts them into batches of {@code bagsPerStep}. The plan depends on
 * nothing but the seed and the slide ids, never on how many workers run it, which is what makes
 * k workers train the same model as one and a resumed run replay the steps it lost.
 */
public record StepPlan(long seed, int bagsPerStep) {

  public StepPlan {
    if (bagsPerStep < 1) {
      throw new IllegalArgumentException("--bags-per-step must be >= 1, got " + bagsPerStep);
    }
  }

  /** The batches of one epoch over {@code labels} (slide id to class index). */
  public List<List<BagStep>> epoch(int epoch, Map<String, Integer> labels) {
    // Sorted first, so the order the caller built the map in cannot matter.
    List<String> ids = new ArrayList<>(new TreeMap<>(labels).keySet());
    SplittableRandom rng = new SplittableRandom(mix(seed, epoch));
    for (int i = ids.size() - 1; i > 0; i--) {
      int j = rng.nextInt(i + 1);
      String t = ids.get(i);
      ids.set(i, ids.get(j));
      ids.set(j, t);
    }
    List<List<BagStep>> steps = new ArrayList<>();
    for (int from = 0; from < ids.size(); from += bagsPerStep) {
      List<BagStep> batch = new ArrayList<>();
      for (String id : ids.subList(from, Math.min(ids.size(), from + bagsPerStep))) {
        batch.add(new BagStep(id, labels.get(id), dropoutSeed(epoch, id)));
      }
      steps.add(batch);
    }
    return steps;
  }

  /** The seed of a slide's dropout masks in an epoch. */
  public long dropoutSeed(int epoch, String slideId) {
    return mix(mix(seed, epoch), slideId.hashCode());
  }

  /** A well-mixed 64-bit value of two inputs (the SplitMix64 finaliser over their combination). */
  static long mix(long a, long b) {
    long z = a * 0x9E3779B97F4A7C15L + b;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
