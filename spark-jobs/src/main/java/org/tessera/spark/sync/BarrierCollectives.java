package org.tessera.spark.sync;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.SecurityManager;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.rdd.RDD;
import scala.Tuple2;
import scala.collection.JavaConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/**
 * Ring collectives among the tasks of a Spark barrier stage: one long-lived task per worker, all
 * running at once, so they can all-reduce as often as a training step needs without a Spark job
 * per reduction. See the package documentation for the limits this inherits from barrier mode.
 */
public final class BarrierCollectives {

  private BarrierCollectives() {}

  /**
   * Joins the ring of the current barrier stage: rank = partition index, size = number of tasks.
   * Listens on the executor's host (from the task's address, by which Spark reaches it; loopback
   * in local mode, where every task runs in the driver's JVM), exchanges "host:port" with
   * {@link BarrierTaskContext#allGather}, then connects, authenticating both connections with
   * {@code key}, the key of this stage's ring. Every task of the stage must call this once; the
   * caller closes the result.
   */
  public static RingCollective open(BarrierTaskContext ctx, RingSettings settings, RingKey key) {
    int rank = ctx.partitionId();
    String host = inDriver() ? InetAddress.getLoopbackAddress().getHostAddress()
        : hostOf(ctx.getTaskInfos()[rank].address());
    try (RingEndpoint endpoint = RingEndpoint.bind(InetAddress.getByName(host))) {
      InetSocketAddress self = endpoint.address();
      String[] all = ctx.allGather(self.getAddress().getHostAddress() + ":" + self.getPort());
      List<InetSocketAddress> peers = new ArrayList<>(all.length);
      for (String a : all) {
        int colon = a.lastIndexOf(':');
        peers.add(new InetSocketAddress(InetAddress.getByName(a.substring(0, colon)),
            Integer.parseInt(a.substring(colon + 1))));
      }
      return endpoint.connect(rank, peers, settings, key);
    } catch (IOException e) {
      throw new UncheckedIOException("barrier task " + rank + " on " + host
          + " could not join the ring: " + e.getMessage(), e);
    }
  }

  /**
   * The key of the current barrier stage's ring, named after the application, the stage and its
   * attempt (so the tasks of a retried attempt form a ring of their own). With
   * {@code spark.authenticate} on, {@code shipped} is null and every task derives the key from
   * Spark's authentication secret ({@link RingKey#derive}), so that no key travels with the
   * tasks; otherwise {@code shipped} is the key the driver generated and sent with the stage's
   * closure.
   */
  static RingKey ringKey(BarrierTaskContext ctx, byte[] shipped) {
    SparkEnv env = SparkEnv.get();
    String ring = ringName(env.conf().getAppId(), ctx.stageId(), ctx.stageAttemptNumber());
    if (shipped != null) {
      return RingKey.of(shipped, ring);
    }
    SecurityManager security = env.securityManager();
    String secret = security.isAuthenticationEnabled() ? security.getSecretKey() : null;
    if (secret == null || secret.isEmpty()) {
      throw new IllegalStateException("barrier task " + ctx.partitionId() + ": the driver has "
          + "spark.authenticate on but this executor has no Spark authentication secret to "
          + "derive the ring key from");
    }
    return RingKey.of(RingKey.derive(secret.getBytes(StandardCharsets.UTF_8), ring), ring);
  }

  /** The name of a barrier stage's ring, which its key is derived from and every proof covers. */
  static String ringName(String appId, int stageId, int stageAttempt) {
    return appId + "/stage " + stageId + "." + stageAttempt;
  }

  /** Whether this task runs in the driver's JVM, as every task does in local mode. */
  private static boolean inDriver() {
    // Spark names the driver's own executor "driver" (SparkContext.DRIVER_IDENTIFIER).
    return "driver".equals(SparkEnv.get().executorId());
  }

  /** The host part of a task's address, which Spark gives as "host:port" or as a bare host. */
  static String hostOf(String address) {
    if (address.startsWith("[")) {
      return address.substring(1, address.indexOf(']'));
    }
    int colon = address.indexOf(':');
    return colon >= 0 && colon == address.lastIndexOf(':') ? address.substring(0, colon) : address;
  }

  /**
   * Runs {@code fn} as a barrier stage of {@code workers} tasks over {@code data} (repartitioned
   * when it has a different number of partitions) and returns each rank's result, by rank. The
   * collective is closed when {@code fn} returns or throws.
   */
  public static <T, R> List<R> run(JavaRDD<T> data, int workers, RingSettings settings,
      BarrierFunction<T, R> fn) {
    if (workers < 1) {
      throw new IllegalArgumentException("workers must be at least 1, got " + workers);
    }
    JavaRDD<T> input = data.getNumPartitions() == workers ? data : data.repartition(workers);
    // Without Spark's authentication there is no shared secret on the executors: the ring's key
    // is generated here and travels with the tasks, as secret as the closure itself.
    byte[] shipped = data.context().getConf().getBoolean("spark.authenticate", false) ? null
        : RingKey.generate();
    @SuppressWarnings("unchecked")
    ClassTag<Tuple2<Integer, R>> tag = (ClassTag<Tuple2<Integer, R>>) (ClassTag<?>)
        ClassTag$.MODULE$.apply(Tuple2.class);
    RDD<Tuple2<Integer, R>> out =
        input.rdd().barrier().mapPartitions(new Task<>(settings, shipped, fn), false, tag);
    List<R> results = new ArrayList<>(Collections.nCopies(workers, null));
    for (Tuple2<Integer, R> t : out.toJavaRDD().collect()) {
      results.set(t._1(), t._2());
    }
    return results;
  }

  /** The barrier task: joins the ring, applies the function, emits (rank, result). */
  private static final class Task<T, R> extends
      AbstractFunction1<scala.collection.Iterator<T>, scala.collection.Iterator<Tuple2<Integer, R>>>
      implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private final RingSettings settings;
    private final byte[] shippedKey;
    private final BarrierFunction<T, R> fn;

    Task(RingSettings settings, byte[] shippedKey, BarrierFunction<T, R> fn) {
      this.settings = settings;
      this.shippedKey = shippedKey;
      this.fn = fn;
    }

    @Override
    public scala.collection.Iterator<Tuple2<Integer, R>> apply(scala.collection.Iterator<T> it) {
      BarrierTaskContext ctx = BarrierTaskContext.get();
      R result;
      try (RingCollective c = open(ctx, settings, ringKey(ctx, shippedKey))) {
        Iterator<T> partition = JavaConverters.asJavaIterator(it);
        result = fn.apply(c, partition);
      } catch (RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new RuntimeException("barrier task " + ctx.partitionId() + " failed: " + e, e);
      }
      return JavaConverters.asScalaIterator(
          Collections.singletonList(new Tuple2<>(ctx.partitionId(), result)).iterator());
    }
  }
}
