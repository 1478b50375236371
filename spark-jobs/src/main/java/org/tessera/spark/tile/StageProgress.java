package org.tessera.spark.tile;

import java.io.PrintStream;
import java.time.Duration;
import org.apache.spark.SparkContext;
import org.apache.spark.util.LongAccumulator;

/**
 * Console progress of a stage on the driver: units (slides) done of total, items (tiles) per second
 * and an ETA, printed every few seconds from accumulators that executors bump as tasks finish.
 */
public final class StageProgress implements AutoCloseable {
  private final String stage;
  private final long totalUnits;
  private final PrintStream out;
  private final LongAccumulator units;
  private final LongAccumulator items;
  private final long startNanos = System.nanoTime();
  private final Thread ticker;
  private volatile boolean running = true;

  public StageProgress(SparkContext sc, String stage, long totalUnits, PrintStream out) {
    this.stage = stage;
    this.totalUnits = totalUnits;
    this.out = out;
    this.units = sc.longAccumulator(stage + ".units");
    this.items = sc.longAccumulator(stage + ".items");
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

  public double seconds() {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  /** One progress line: {@code [tile] 3/12 slides | 4,512 tiles | 1,234 tiles/s | ETA 0:00:12}. */
  public String line() {
    long done = units.value();
    long n = items.value();
    double secs = Math.max(1e-3, seconds());
    String eta = "?";
    if (done > 0 && done < totalUnits) {
      eta = format(Duration.ofMillis((long) (secs * 1000 * (totalUnits - done) / done)));
    } else if (done >= totalUnits) {
      eta = "0:00:00";
    }
    return String.format("[%s] %d/%d slides | %,d tiles | %,.0f tiles/s | elapsed %s | ETA %s",
        stage, done, totalUnits, n, n / secs, format(Duration.ofMillis((long) (secs * 1000))), eta);
  }

  private void tick() {
    long last = -1;
    while (running) {
      try {
        Thread.sleep(2000);
      } catch (InterruptedException e) {
        return;
      }
      long now = units.value() * 1_000_000_007L + items.value();
      if (running && now != last) {
        out.println(line());
        last = now;
      }
    }
  }

  private static String format(Duration d) {
    long s = d.getSeconds();
    return String.format("%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
  }

  @Override
  public void close() {
    running = false;
    ticker.interrupt();
    out.println(line());
  }
}
