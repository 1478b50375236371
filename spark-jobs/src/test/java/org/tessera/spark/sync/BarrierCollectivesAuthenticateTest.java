package org.tessera.spark.sync;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.tessera.spark.SparkTestSupport;

/**
 * A barrier stage with Spark's authentication on: each task derives the ring's key from Spark's
 * authentication secret and the stage's identity (no key in the closure), the tasks' keys agree,
 * so they connect, and the next stage gets another key. (In local mode, as on YARN, Spark
 * authenticates with a secret it generates per application, stored in the user's credentials,
 * and ignores spark.authenticate.secret; a standalone cluster uses spark.authenticate.secret.)
 */
class BarrierCollectivesAuthenticateTest {
  private static final String SECRET = "a secret only the cluster knows";
  private static SparkSession spark;

  @BeforeAll
  static void setUp() {
    spark = SparkTestSupport.localBuilder("barrier-collectives-authenticate")
        .config("spark.authenticate", "true")
        .config("spark.authenticate.secret", SECRET)
        .getOrCreate();
  }

  @AfterAll
  static void tearDown() {
    spark.stop();
  }

  @Test
  void everyTaskDerivesTheStagesKeyFromTheSparkSecret() {
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    List<double[]> first = run(sc);
    List<double[]> second = run(sc);
    for (List<double[]> results : List.of(first, second)) {
      assertEquals(2, results.size());
      // Both ranks summed their values over the ring, whose key each derived on its own...
      assertEquals(1.0 + 2.0, results.get(0)[0]);
      assertArrayEquals(results.get(0), results.get(1));
    }
    // ...as RingKey.derive(Spark's secret, application/stage/attempt): another for each stage.
    assertNotEquals(first.get(0)[1], second.get(0)[1]);
  }

  /**
   * One barrier stage of two tasks; each rank returns the sum of (rank + 1) and the first bytes
   * of a proof made with its ring key, checked there against a key derived from Spark's secret.
   */
  private static List<double[]> run(JavaSparkContext sc) {
    return BarrierCollectives.run(sc.parallelize(List.of(0, 1), 2), 2, RingSettings.defaults(),
        (c, partition) -> {
          BarrierTaskContext ctx = BarrierTaskContext.get();
          String ring = BarrierCollectives.ringName(SparkEnv.get().conf().getAppId(),
              ctx.stageId(), ctx.stageAttemptNumber());
          String secret = SparkEnv.get().securityManager().getSecretKey();
          RingKey expected = RingKey.of(
              RingKey.derive(secret.getBytes(StandardCharsets.UTF_8), ring), ring);
          byte[] nonce = new byte[RingKey.BYTES];
          byte[] proof = BarrierCollectives.ringKey(ctx, null)
              .proof(RingKey.Role.DIALER, 0, 1, 2, nonce, nonce);
          assertArrayEquals(expected.proof(RingKey.Role.DIALER, 0, 1, 2, nonce, nonce), proof);
          double[] sum = {c.rank() + 1.0};
          c.allReduceSum(sum);
          long head = 0;
          for (int i = 0; i < 6; i++) {
            head = head << 8 | (proof[i] & 0xff);
          }
          return new double[] {sum[0], head};
        });
  }
}
