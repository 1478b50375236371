package org.tessera.spark.sync;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Ring keys: derived deterministically from a cluster secret and the job, different for every
 * job, attempt and secret; proofs bound to their role, ranks, size, ring and both nonces.
 */
class RingKeyTest {
  private static final byte[] SECRET = "the cluster's spark.authenticate.secret"
      .getBytes(StandardCharsets.UTF_8);

  @Test
  void theDerivedKeyIsTheSameForTheSameSecretAndJob() {
    String job = BarrierCollectives.ringName("app-20260101000000-0007", 12, 0);
    byte[] a = RingKey.derive(SECRET, job);
    byte[] b = RingKey.derive(SECRET.clone(), new String(job));
    assertEquals(RingKey.BYTES, a.length);
    assertArrayEquals(a, b);
  }

  @Test
  void everyJobAttemptAndSecretGetsItsOwnKey() {
    List<byte[]> keys = List.of(
        RingKey.derive(SECRET, BarrierCollectives.ringName("app-1", 3, 0)),
        RingKey.derive(SECRET, BarrierCollectives.ringName("app-2", 3, 0)),
        RingKey.derive(SECRET, BarrierCollectives.ringName("app-1", 4, 0)),
        RingKey.derive(SECRET, BarrierCollectives.ringName("app-1", 3, 1)),
        RingKey.derive("another secret".getBytes(StandardCharsets.UTF_8),
            BarrierCollectives.ringName("app-1", 3, 0)));
    Set<String> distinct = new HashSet<>();
    for (byte[] k : keys) {
      distinct.add(HexFormat.of().formatHex(k));
      // Not the secret itself, nor a prefix of it.
      assertFalse(Arrays.equals(k, Arrays.copyOf(SECRET, k.length)));
    }
    assertEquals(keys.size(), distinct.size());
    assertThrows(IllegalArgumentException.class, () -> RingKey.derive(new byte[0], "job"));
  }

  @Test
  void aProofHoldsForOneRoleConnectionAndPairOfNonces() {
    byte[] bytes = RingKey.generate();
    RingKey key = RingKey.of(bytes, "ring");
    byte[] n1 = RingKey.random(RingKey.BYTES);
    byte[] n2 = RingKey.random(RingKey.BYTES);
    byte[] proof = key.proof(RingKey.Role.DIALER, 2, 0, 3, n1, n2);
    assertArrayEquals(proof, RingKey.of(bytes, "ring").proof(RingKey.Role.DIALER, 2, 0, 3, n1,
        n2));
    List<byte[]> others = List.of(
        key.proof(RingKey.Role.ACCEPTOR, 2, 0, 3, n1, n2),
        key.proof(RingKey.Role.DIALER, 1, 0, 3, n1, n2),
        key.proof(RingKey.Role.DIALER, 2, 1, 3, n1, n2),
        key.proof(RingKey.Role.DIALER, 2, 0, 4, n1, n2),
        key.proof(RingKey.Role.DIALER, 2, 0, 3, n2, n1),
        key.proof(RingKey.Role.DIALER, 2, 0, 3, n1, RingKey.random(RingKey.BYTES)),
        RingKey.of(bytes, "ring2").proof(RingKey.Role.DIALER, 2, 0, 3, n1, n2),
        RingKey.of(RingKey.generate(), "ring").proof(RingKey.Role.DIALER, 2, 0, 3, n1, n2));
    for (byte[] other : others) {
      assertFalse(Arrays.equals(proof, other));
    }
  }

  @Test
  void theKeyIsCopiedAndNeverPrinted() {
    byte[] bytes = RingKey.generate();
    RingKey key = RingKey.of(bytes, "app-1/stage 3.0");
    byte[] n = new byte[RingKey.BYTES];
    byte[] before = key.proof(RingKey.Role.DIALER, 0, 1, 2, n, n);
    Arrays.fill(bytes, (byte) 0);
    assertArrayEquals(before, key.proof(RingKey.Role.DIALER, 0, 1, 2, n, n));
    assertEquals("RingKey[app-1/stage 3.0]", key.toString());
    assertThrows(IllegalArgumentException.class, () -> RingKey.of(new byte[16], "r"));
  }
}
