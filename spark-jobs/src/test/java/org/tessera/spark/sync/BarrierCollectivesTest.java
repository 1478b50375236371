package org.tessera.spark.sync;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.spark.SparkException;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.tessera.spark.SparkTestSupport;

/**
 * A barrier stage of two tasks on local[2]: each all-reduces its partition's values over the
 * ring, both see the totals, and the driver gets each rank's result in rank order.
 */
class BarrierCollectivesTest {
  private static SparkSession spark;

  @BeforeAll
  static void setUp() {
    spark = SparkTestSupport.localSession("barrier-collectives");
  }

  @AfterAll
  static void tearDown() {
    spark.stop();
  }

  @Test
  void twoTasksAllReduceTheirPartitions() {
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    List<Integer> values = IntStream.rangeClosed(1, 100).boxed().toList();
    JavaRDD<Integer> data = sc.parallelize(values, 2);
    List<double[]> results = BarrierCollectives.run(data, 2, RingSettings.defaults(),
        (c, partition) -> {
          double[] sums = new double[3];
          float[] histogram = new float[10_000];
          while (partition.hasNext()) {
            int v = partition.next();
            sums[0] += v;
            sums[1] += 1;
            histogram[v] += 1;
          }
          sums[2] = c.size();
          c.allReduceSum(sums);
          c.allReduceSum(histogram);
          float seen = 0;
          for (float h : histogram) {
            seen += h;
          }
          return new double[] {c.rank(), sums[0], sums[1], sums[2], seen};
        });
    assertEquals(2, results.size());
    for (int r = 0; r < 2; r++) {
      assertArrayEquals(new double[] {r, 5050, 100, 4, 100}, results.get(r), "rank " + r);
    }
  }

  @Test
  void inLocalModeTheRingListensOnLoopback() {
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    List<String> rings = BarrierCollectives.run(sc.parallelize(List.of(1, 2), 2), 2,
        RingSettings.defaults(), (c, partition) -> {
          c.allReduceSum(new double[1]);
          return c.toString();
        });
    for (String ring : rings) {
      // Both neighbours, as every rank reached them: only this machine can connect.
      assertTrue(ring.matches(".*left rank \\d \\(127\\.0\\.0\\.1:\\d+\\), "
          + "right rank \\d \\(127\\.0\\.0\\.1:\\d+\\).*"), ring);
    }
  }

  @Test
  void repartitionsToTheRequestedNumberOfWorkers() {
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    List<Long> ids = new ArrayList<>();
    for (long i = 0; i < 37; i++) {
      ids.add(i);
    }
    List<Long> counts = BarrierCollectives.run(sc.parallelize(ids, 5), 2,
        RingSettings.defaults(), (c, partition) -> {
          double[] n = new double[1];
          partition.forEachRemaining(x -> n[0]++);
          c.allReduceSum(n);
          return (long) n[0];
        });
    assertEquals(List.of(37L, 37L), counts);
  }

  @Test
  void aFailingRankFailsTheJobInsteadOfHanging() {
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    long start = System.nanoTime();
    SparkException e = assertThrows(SparkException.class, () -> BarrierCollectives.run(
        sc.parallelize(List.of(1, 2, 3, 4), 2), 2, RingSettings.defaults(), (c, partition) -> {
          if (c.rank() == 1) {
            throw new IllegalStateException("rank 1 gave up");
          }
          c.allReduceSum(new float[1000]);
          return c.rank();
        }));
    // The default timeout is five minutes: this fails because the error travels, not waits.
    assertTrue(System.nanoTime() - start < 60_000_000_000L, "took " + (System.nanoTime() - start));
    // Spark reports whichever task failed first: the rank that gave up, or its peer, which saw
    // the connection close under it. Both name the failing rank.
    assertTrue(e.getMessage().contains("rank 1 gave up")
        || e.getMessage().contains("rank 1 (") && e.getMessage().contains(
            "closed the connection"), e.getMessage());
  }
}
