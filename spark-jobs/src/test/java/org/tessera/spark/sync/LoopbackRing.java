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
    List<RingEndpoint> endpoints = new ArrayList<>();
    List<InetSocketAddress> peers = new ArrayList<>();
    for (int r = 0; r < k; r++) {
      RingEndpoint e = RingEndpoint.bind(InetAddress.getLoopbackAddress());
      endpoints.add(e);
      peers.add(e.address());
    }
    ExecutorService threads = Executors.newFixedThreadPool(k);
    List<Future<RingCollective>> joined = new ArrayList<>();
    for (int r = 0; r < k; r++) {
      int rank = r;
      joined.add(threads.submit(() -> endpoints.get(rank).connect(rank, peers, settings)));
    }
    List<RingCollective> ranks = new ArrayList<>();
    for (Future<RingCollective> f : joined) {
      ranks.add(f.get(30, TimeUnit.SECONDS));
    }
    return new LoopbackRing(ranks, threads);
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
