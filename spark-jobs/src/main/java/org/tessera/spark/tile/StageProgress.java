package org.tessera.spark.tile;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple4;
import scala.collection.JavaConverters;

/**
 * Console progress of a stage on the driver: units (slides) done of total, items (tiles) done
 * (of the total when known), items per second and an ETA, printed every few seconds from
 * accumulators that executors bump. When the stage knows its item count up front
 * ({@link #expectItems}) the ETA comes from items, so it is there as soon as the first items
 * are done; tasks that count as they go ({@link #counting}, {@link #tick}) report their items
 * with each executor heartbeat, before they finish. Otherwise the ETA comes from units.
 */
public final class StageProgress implements AutoCloseable {
  /** The items accumulator of the task running on this executor thread, if it counts. */
  private static final ThreadLocal<long[]> TICKS = new ThreadLocal<>();
  private static final ThreadLocal<LongAccumulator> COUNTER = new ThreadLocal<>();

  private final String stage;
  private final long totalUnits;
  private final PrintStream out;
  private final SparkContext sc;
  private final LongAccumulator units;
  private final LongAccumulator items;
  private final long startNanos = System.nanoTime();
  private final Thread ticker;
  private final Map<Long, Long> running = new ConcurrentHashMap<>();
  private final SparkListener heartbeats;
  private volatile long totalItems = -1;
  private volatile boolean closed;
  private String lastLine;

  public StageProgress(SparkContext sc, String stage, long totalUnits, PrintStream out) {
    this(sc, stage, totalUnits, -1, out);
  }

  /** @param totalItems the stage's items when known up front, else -1 */
  public StageProgress(SparkContext sc, String stage, long totalUnits, long totalItems,
      PrintStream out) {
    this.stage = stage;
    this.totalUnits = totalUnits;
    this.totalItems = totalItems;
    this.out = out;
    this.sc = sc;
    this.units = sc.longAccumulator(stage + ".units");
    this.items = sc.longAccumulator(stage + ".items");
    long itemsId = items.id();
    this.heartbeats = new SparkListener() {
      @Override
      public void onExecutorMetricsUpdate(SparkListenerExecutorMetricsUpdate update) {
        for (Tuple4<Object, Object, Object, scala.collection.Seq<AccumulableInfo>> task
            : JavaConverters.seqAsJavaList(update.accumUpdates())) {
          for (AccumulableInfo info : JavaConverters.seqAsJavaList(task._4())) {
            if (info.id() == itemsId && info.update().isDefined()
                && info.update().get() instanceof Number n) {
              running.put((Long) task._1(), n.longValue());
            }
          }
        }
      }

      @Override
      public void onTaskEnd(SparkListenerTaskEnd end) {
        running.remove(end.taskInfo().taskId());
      }
    };
    sc.addSparkListener(heartbeats);
    this.ticker = new Thread(this::tick, "tessera-progress-" + stage);
    ticker.setDaemon(true);
    ticker.start();
  }

  public LongAccumulator units() {
    return units;
  }

  public LongAccumulator items() {
    return items;
  }

  /** Sets the stage's item count once it is known (e.g. after planning). */
  public void expectItems(long total) {
    this.totalItems = total;
  }

  public double seconds() {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  /**
   * Runs an executor task's body counting its items into {@code items} as it goes (through
   * {@link #tick}); {@code done} gives the task's final count, which is what the accumulator holds
   * for the task in the end.
   */
  public static <T> T counting(LongAccumulator items, Supplier<T> body, ToLongFunction<T> done) {
    long[] ticked = {0};
    TICKS.set(ticked);
    COUNTER.set(items);
    try {
      T result = body.get();
      items.add(done.applyAsLong(result) - ticked[0]);
      return result;
    } finally {
      TICKS.remove();
      COUNTER.remove();
    }
  }

  /** {@code n} more items done by the task on this thread; nothing outside {@link #counting}. */
  public static void tick(long n) {
    LongAccumulator acc = COUNTER.get();
    if (acc != null) {
      acc.add(n);
      TICKS.get()[0] += n;
    }
  }

  /** Items done: finished tasks' and running tasks' as of their last heartbeat. */
  long itemsDone() {
    long n = items.value();
    for (long v : running.values()) {
      n += v;
    }
    return n;
  }

  /**
   * One progress line: {@code [embed] 3/12 slides | 4,512/10,000 tiles | 1,234 tiles/s |
   * elapsed 0:00:04 | ETA 0:00:05}.
   */
  public String line() {
    long done = units.value();
    long total = totalItems;
    long n = Math.min(itemsDone(), total >= 0 ? total : Long.MAX_VALUE);
    double secs = Math.max(1e-3, seconds());
    String eta = "?";
    if (done >= totalUnits || (total >= 0 && n >= total)) {
      eta = "0:00:00";
    } else if (total > 0 && n > 0) {
      eta = format(secs * (total - n) / n);
    } else if (done > 0) {
      eta = format(secs * (totalUnits - done) / done);
    }
    return String.format("[%s] %d/%d slides | %,d%s tiles | %,.0f tiles/s | elapsed %s | ETA %s",
        stage, done, totalUnits, n, total >= 0 ? String.format("/%,d", total) : "", n / secs,
        format(secs), eta);
  }

  private void tick() {
    long last = -1;
    long printed = System.nanoTime();
    while (!closed) {
      try {
        Thread.sleep(2000);
      } catch (InterruptedException e) {
        return;
      }
      long now = units.value() * 1_000_000_007L + itemsDone();
      // Also every 10 s while nothing moves, so a long first task shows the time going by.
      boolean quiet = System.nanoTime() - printed >= 10_000_000_000L;
      if (!closed && (now != last || quiet)) {
        print(line());
        last = now;
        printed = System.nanoTime();
      }
    }
  }

  private synchronized void print(String line) {
    if (!line.equals(lastLine)) {
      out.println(line);
      lastLine = line;
    }
  }

  private static String format(double seconds) {
    long s = Duration.ofMillis((long) (seconds * 1000)).getSeconds();
    return String.format("%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
  }

  @Override
  public void close() {
    closed = true;
    ticker.interrupt();
    sc.removeSparkListener(heartbeats);
    print(line());
  }
}
