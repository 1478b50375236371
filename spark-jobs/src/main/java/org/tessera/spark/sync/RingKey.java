package org.tessera.spark.sync;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * What the members of one ring share and strangers do not: a 256-bit key and the name of the
 * ring (its generation: application, stage and stage attempt for a barrier stage). Every ring
 * connection starts with a handshake in which both ends prove, with HMAC-SHA256 over fresh nonces
 * from both sides, that they hold the key for this ring; see {@link RingEndpoint}.
 *
 * <p>The key comes from {@link #derive} (from Spark's own authentication secret, so it never
 * travels) or from {@link #generate} (on the driver, shipped to the tasks with the stage's
 * closure). It is never printed: {@link #toString} names the ring only.
 */
public final class RingKey {
  /** Bytes of a key and of each handshake nonce and proof. */
  public static final int BYTES = 32;
  private static final String HMAC = "HmacSHA256";
  private static final byte[] DERIVE_LABEL =
      "tessera ring key v1".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] PROOF_LABEL =
      "tessera ring handshake v1".getBytes(StandardCharsets.US_ASCII);
  private static final SecureRandom RANDOM = new SecureRandom();

  /** Who computes a proof: the side that dialled or the side that accepted the connection. */
  enum Role {
    DIALER,
    ACCEPTOR
  }

  private final byte[] key;
  private final String ring;

  private RingKey(byte[] key, String ring) {
    this.key = key;
    this.ring = ring;
  }

  /**
   * The key {@code key} (32 bytes, copied) for the ring named {@code ring}. Members must agree on
   * both: a member of another ring with the same key is refused like a stranger.
   */
  public static RingKey of(byte[] key, String ring) {
    if (key.length != BYTES) {
      throw new IllegalArgumentException("a ring key has " + BYTES + " bytes, got " + key.length);
    }
    if (ring == null || ring.isEmpty()) {
      throw new IllegalArgumentException("the ring needs a name");
    }
    return new RingKey(key.clone(), ring);
  }

  /** 32 bytes from {@link SecureRandom}: a fresh key, as secret as the way it is shipped. */
  public static byte[] generate() {
    return random(BYTES);
  }

  /**
   * A job's key from a cluster secret: HMAC-SHA256 keyed with {@code secret} over a fixed label
   * and {@code job} (for a barrier stage: application id, stage id and attempt). The same inputs
   * always give the same key, so every task derives it on its own and only the job's name, which
   * is not secret, needs to reach them; another job gets an unrelated key.
   */
  public static byte[] derive(byte[] secret, String job) {
    if (secret.length == 0) {
      throw new IllegalArgumentException("cannot derive a ring key from an empty secret");
    }
    Mac mac = mac(secret);
    mac.update(DERIVE_LABEL);
    mac.update((byte) 0);
    mac.update(job.getBytes(StandardCharsets.UTF_8));
    return mac.doFinal();
  }

  /** The ring's name, which every proof covers. */
  public String ring() {
    return ring;
  }

  /**
   * The proof {@code role} sends on the connection from rank {@code dialer} to rank
   * {@code acceptor} of a ring of {@code size}: HMAC-SHA256 with this key over a label, the
   * ring's name, the role, both ranks, the size and both sides' nonces. A proof is therefore
   * good for one connection only (each side picks a fresh nonce), in one direction and for one
   * role, so neither a recorded handshake nor a proof reflected back at its sender passes.
   */
  byte[] proof(Role role, int dialer, int acceptor, int size, byte[] dialerNonce,
      byte[] acceptorNonce) {
    Mac mac = mac(key);
    mac.update(PROOF_LABEL);
    byte[] name = ring.getBytes(StandardCharsets.UTF_8);
    mac.update(ByteBuffer.allocate(Integer.BYTES).putInt(name.length).array());
    mac.update(name);
    mac.update(ByteBuffer.allocate(4 * Integer.BYTES).putInt(role.ordinal()).putInt(dialer)
        .putInt(acceptor).putInt(size).array());
    mac.update(dialerNonce);
    mac.update(acceptorNonce);
    return mac.doFinal();
  }

  /** {@code n} bytes from the shared {@link SecureRandom}. */
  static byte[] random(int n) {
    byte[] b = new byte[n];
    RANDOM.nextBytes(b);
    return b;
  }

  @Override
  public String toString() {
    return "RingKey[" + ring + "]";
  }

  private static Mac mac(byte[] key) {
    try {
      Mac mac = Mac.getInstance(HMAC);
      mac.init(new SecretKeySpec(key, HMAC));
      return mac;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JVM cannot compute " + HMAC, e);
    }
  }
}
