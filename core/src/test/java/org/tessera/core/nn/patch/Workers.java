package org.tessera.core.nn.patch;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;
import org.tessera.core.collective.Collective;
import org.tessera.core.collective.ThreadGroupCollective;

/** Runs one task per rank of a fresh {@link ThreadGroupCollective}, each on its own thread. */
final class Workers {

  private Workers() {}

  static <T> List<T> run(int k, Function<Collective, T> work) throws Exception {
    List<Collective> group = ThreadGroupCollective.create(k, 60_000);
    ExecutorService pool = Executors.newFixedThreadPool(k);
    try {
      List<Future<T>> futures = new ArrayList<>();
      for (Collective c : group) {
        futures.add(pool.submit(() -> work.apply(c)));
      }
      List<T> results = new ArrayList<>();
      for (Future<T> f : futures) {
        try {
          results.add(f.get());
        } catch (ExecutionException e) {
          group.get(0).close();
          throw e;
        }
      }
      return results;
    } finally {
      pool.shutdownNow();
    }
  }
}
