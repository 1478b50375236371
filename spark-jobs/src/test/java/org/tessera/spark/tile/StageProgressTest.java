package org.tessera.spark.tile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.LongAccumulator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.tessera.spark.SparkTestSupport;

/** Progress lines: an ETA from items when their count is known, live from running tasks. */
class StageProgressTest {
  static SparkSession spark;

  @BeforeAll
  static void start() {
    // Heartbeats twice a second, so running tasks report their items within the test.
    spark = SparkTestSupport.localBuilder("StageProgressTest")
        .config("spark.executor.heartbeatInterval", "500ms").getOrCreate();
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  @Test
  void aKnownItemCountGivesAnEtaBeforeAnySlideIsDone() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (StageProgress p = new StageProgress(spark.sparkContext(), "embed", 4, 1000,
        new PrintStream(bytes, true, StandardCharsets.UTF_8))) {
      p.items().add(250);
      String line = p.line();
      assertTrue(line.startsWith("[embed] 0/4 slides | 250/1,000 tiles"), line);
      assertFalse(line.endsWith("ETA ?"), line);
    }
    try (StageProgress p = new StageProgress(spark.sparkContext(), "tile", 4,
        new PrintStream(bytes, true, StandardCharsets.UTF_8))) {
      p.items().add(250);
      assertTrue(p.line().endsWith("ETA ?"), "no item count, no slide done: " + p.line());
      p.units().add(1);
      assertFalse(p.line().endsWith("ETA ?"), p.line());
    }
  }

  @Test
  void runningTasksReportTheirItemsBeforeTheyFinish() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    try (StageProgress p = new StageProgress(spark.sparkContext(), "embed", 2, 200,
        new PrintStream(bytes, true, StandardCharsets.UTF_8))) {
      LongAccumulator items = p.items();
      CompletableFuture<List<Long>> job = CompletableFuture.supplyAsync(() ->
          jsc.parallelize(List.of(0, 1), 2).map(x -> StageProgress.counting(items, () -> {
            for (int i = 0; i < 10; i++) {
              StageProgress.tick(10);
              try {
                Thread.sleep(400);
              } catch (InterruptedException e) {
                throw new IllegalStateException(e);
              }
            }
            return 100L;
          }, n -> n)).collect());
      long seen = 0;
      while (!job.isDone() && seen == 0) {
        seen = p.itemsDone();
        Thread.sleep(50);
      }
      assertFalse(job.isDone(), "the tasks reported nothing while running");
      assertTrue(seen > 0 && seen < 200, "items while running: " + seen);
      assertTrue(items.value() == 0, "nothing finished yet");
      assertEquals(List.of(100L, 100L), job.get());
      assertEquals(200, items.value(), "each task counts its final items once");
    }
  }
}
