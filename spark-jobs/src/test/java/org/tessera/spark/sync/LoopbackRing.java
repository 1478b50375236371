package org.tessera.spark.sync;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/** K ranks as threads of this JVM, connected over real loopback TCP. */
final class LoopbackRing implements AutoCloseable {
  final List<RingCollective> ranks;
  private final ExecutorService threads;

  private LoopbackRing(List<RingCollective> ranks, ExecutorService threads) {
    this.ranks = ranks;
    this.threads = threads;
  }

  static LoopbackRing open(int k, RingSettings settings) throws Exception {
    return open(k, settings, sameKey(k), listeners -> listeners);
  }

  /** {@code k} keys with the same random bytes and ring name, one per rank. */
  static List<RingKey> sameKey(int k) {
    RingKey key = RingKey.of(RingKey.generate(), "loopback ring");
    return java.util.Collections.nCopies(k, key);
  }

  /**
   * Like {@link #open(int, RingSettings)} with rank r holding {@code keys.get(r)}; ranks 0 to
   * k-2 start joining at once, rank k-1 only after {@code meanwhile} has run (with every rank's
   * listening address), so whatever {@code meanwhile} does happens while rank 0's listener waits
   * for its left neighbour.
   */
  static LoopbackRing open(int k, RingSettings settings, List<RingKey> keys, Meanwhile meanwhile)
      throws Exception {
    ExecutorService threads = Executors.newFixedThreadPool(k);
    try {
      List<RingCollective> ranks = new ArrayList<>();
      for (Future<RingCollective> f : join(threads, k, settings, keys, meanwhile)) {
        ranks.add(f.get(30, TimeUnit.SECONDS));
      }
      return new LoopbackRing(ranks, threads);
    } catch (Exception | Error e) {
      threads.shutdownNow();
      throw e;
    }
  }

  /** Starts the ranks' {@link RingEndpoint#connect} as {@link #open} does; futures by rank. */
  static List<Future<RingCollective>> join(ExecutorService threads, int k, RingSettings settings,
      List<RingKey> keys, Meanwhile meanwhile) throws Exception {
    List<RingEndpoint> endpoints = new ArrayList<>();
    List<InetSocketAddress> peers = new ArrayList<>();
    for (int r = 0; r < k; r++) {
      RingEndpoint e = RingEndpoint.bind(InetAddress.getLoopbackAddress());
      endpoints.add(e);
      peers.add(e.address());
    }
    List<Future<RingCollective>> joined = new ArrayList<>();
    for (int r = 0; r < k; r++) {
      List<InetSocketAddress> dials = r == k - 1 ? meanwhile.run(peers) : peers;
      int rank = r;
      joined.add(threads.submit(
          () -> endpoints.get(rank).connect(rank, dials, settings, keys.get(rank))));
    }
    return joined;
  }

  /**
   * What a test does while the ring is being set up; returns the addresses rank k-1 dials
   * (normally {@code listeners}, the ranks' own).
   */
  interface Meanwhile {
    List<InetSocketAddress> run(List<InetSocketAddress> listeners) throws Exception;
  }

  /** What each rank does, on its own thread. */
  interface RankWork<V> {
    V run(RingCollective c) throws Exception;
  }

  /** Runs {@code work} on every rank at once; the futures are in rank order. */
  <V> List<Future<V>> onEveryRank(RankWork<V> work) {
    List<Future<V>> out = new ArrayList<>();
    for (RingCollective c : ranks) {
      Callable<V> task = () -> work.run(c);
      out.add(threads.submit(task));
    }
    return out;
  }

  /** Like {@link #onEveryRank} but waits and returns the results, failing on any exception. */
  <V> List<V> all(RankWork<V> work) throws Exception {
    List<V> out = new ArrayList<>();
    for (Future<V> f : onEveryRank(work)) {
      out.add(f.get(120, TimeUnit.SECONDS));
    }
    return out;
  }

  @Override
  public void close() {
    ranks.forEach(RingCollective::close);
    threads.shutdownNow();
  }
}
