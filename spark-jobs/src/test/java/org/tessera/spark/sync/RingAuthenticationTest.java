package org.tessera.spark.sync;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Strangers at the ring's listeners: whatever they send (garbage, nothing, a well-formed greeting
 * without the key, a proof made with another key, the bytes of a genuine handshake recorded
 * earlier), they are refused, the ring forms with the real neighbours within its connect window
 * and the all-reduce results are bit-identical to an undisturbed ring's. Members holding
 * different keys fail with a message saying so.
 */
class RingAuthenticationTest {
  private static final int K = 3;
  /** Short enough that a silent stranger is dropped within the test. */
  private static final RingSettings SETTINGS = RingSettings.defaults()
      .withTimeout(Duration.ofSeconds(3)).withConnectWindow(Duration.ofSeconds(20));

  @ParameterizedTest
  @ValueSource(strings = {"garbage", "silent", "greeting-without-key", "wrong-key", "replay"})
  void aStrangerWhileTheListenerWaitsIsRefusedAndChangesNothing(String kind) throws Exception {
    List<RingKey> keys = LoopbackRing.sameKey(K);
    // Undisturbed, with rank K-1's connection to rank 0 through a relay that records the bytes
    // rank K-1 sends: its greeting and its proof, for the replay.
    Relay relay;
    List<Object[]> undisturbed;
    List<Relay> relays = new ArrayList<>();
    try (LoopbackRing ring = LoopbackRing.open(K, SETTINGS, keys, listeners -> {
      relays.add(new Relay(listeners.get(0)));
      return withFirst(listeners, relays.get(0).address());
    })) {
      undisturbed = ring.all(RingAuthenticationTest::train);
    } finally {
      relays.forEach(Relay::close);
    }
    relay = relays.get(0);
    byte[] recorded = relay.recorded();
    assertTrue(recorded.length >= RingEndpoint.HELLO_BYTES + RingKey.BYTES,
        "recorded " + recorded.length + " bytes");

    List<Stranger> strangers = new ArrayList<>();
    List<Future<?>> acting = new ArrayList<>();
    ExecutorService threads = Executors.newFixedThreadPool(K);
    List<Object[]> disturbed;
    try (LoopbackRing ring = LoopbackRing.open(K, SETTINGS, keys, listeners -> {
      for (int r = 0; r < K; r++) {
        Stranger s = Stranger.connect(listeners.get(r));
        if (s != null) {
          int left = (r + K - 1) % K;
          strangers.add(s);
          acting.add(threads.submit(() -> s.act(kind, left, recorded)));
        }
      }
      // Rank 0 is waiting for rank K-1, which starts only now: its stranger is done with by
      // then. Rank K-1's stranger waits in its listener's backlog.
      acting.get(0).get(20, TimeUnit.SECONDS);
      return listeners;
    })) {
      disturbed = ring.all(RingAuthenticationTest::train);
      assertTrue(strangers.size() >= 2, strangers.size() + " strangers got in");
      for (Future<?> f : acting) {
        f.get(20, TimeUnit.SECONDS);
      }
      for (Stranger s : strangers) {
        assertTrue(s.droppedWithin(Duration.ofSeconds(15)), kind + ": " + s + " still open");
      }
      if (!kind.equals("garbage") && !kind.equals("silent")) {
        // The stranger at rank 0 got as far as a proof, and was told it was refused.
        assertEquals(RingEndpoint.REFUSED, strangers.get(0).verdict, kind);
      }
    } finally {
      strangers.forEach(Stranger::close);
      threads.shutdownNow();
    }
    for (int r = 0; r < K; r++) {
      assertArrayEquals((float[]) undisturbed.get(r)[0], (float[]) disturbed.get(r)[0],
          kind + ", rank " + r);
      assertArrayEquals((double[]) undisturbed.get(r)[1], (double[]) disturbed.get(r)[1],
          kind + ", rank " + r);
      assertArrayEquals((float[]) undisturbed.get(0)[0], (float[]) disturbed.get(r)[0]);
    }
  }

  @Test
  void manyStrangersAtOnceDoNotKeepTheNeighbourOut() throws Exception {
    List<Stranger> strangers = new ArrayList<>();
    List<Object[]> undisturbed;
    try (LoopbackRing ring = LoopbackRing.open(2, SETTINGS)) {
      undisturbed = ring.all(RingAuthenticationTest::train);
    }
    try (LoopbackRing ring = LoopbackRing.open(2, SETTINGS, LoopbackRing.sameKey(2),
        listeners -> {
          // More silent connections than the listener handshakes with at once.
          for (int i = 0; i < 2 * RingEndpoint.MAX_PENDING; i++) {
            strangers.add(Stranger.connect(listeners.get(0)));
          }
          return listeners;
        })) {
      List<Object[]> disturbed = ring.all(RingAuthenticationTest::train);
      for (int r = 0; r < 2; r++) {
        assertArrayEquals((float[]) undisturbed.get(r)[0], (float[]) disturbed.get(r)[0]);
      }
    } finally {
      strangers.forEach(Stranger::close);
    }
  }

  @Test
  void aSilentStrangerIsDroppedAfterTheHandshakeLimitWhileTheListenerWaits() throws Exception {
    RingSettings settings = SETTINGS.withTimeout(Duration.ofSeconds(1));
    List<Object[]> undisturbed;
    try (LoopbackRing ring = LoopbackRing.open(2, settings)) {
      undisturbed = ring.all(RingAuthenticationTest::train);
    }
    List<Stranger> strangers = new ArrayList<>();
    try (LoopbackRing ring = LoopbackRing.open(2, settings, LoopbackRing.sameKey(2),
        listeners -> {
          strangers.add(Stranger.connect(listeners.get(0)));
          // Rank 1 has not started: rank 0 drops the stranger on its own, after the handshake
          // limit (here the one-second timeout), and goes on waiting.
          long start = System.nanoTime();
          assertTrue(strangers.get(0).droppedWithin(Duration.ofSeconds(5)));
          long took = System.nanoTime() - start;
          assertTrue(took > TimeUnit.MILLISECONDS.toNanos(900), "dropped after " + took / 1e9);
          return listeners;
        })) {
      List<Object[]> disturbed = ring.all(RingAuthenticationTest::train);
      for (int r = 0; r < 2; r++) {
        assertArrayEquals((float[]) undisturbed.get(r)[0], (float[]) disturbed.get(r)[0]);
      }
    } finally {
      strangers.forEach(Stranger::close);
    }
  }

  @Test
  void noConnectionCanBeMadeOnceTheRingIsUp() throws Exception {
    List<Object[]> undisturbed;
    try (LoopbackRing ring = LoopbackRing.open(K, SETTINGS)) {
      undisturbed = ring.all(RingAuthenticationTest::train);
      ring.all(RingAuthenticationTest::train);
    }
    List<InetSocketAddress> addresses = new ArrayList<>();
    try (LoopbackRing ring = LoopbackRing.open(K, SETTINGS, LoopbackRing.sameKey(K),
        listeners -> {
          addresses.addAll(listeners);
          return listeners;
        })) {
      ring.all(RingAuthenticationTest::train);
      // Between two rounds of training: the listeners closed when the ring formed.
      for (InetSocketAddress at : addresses) {
        assertThrows(ConnectException.class, () -> new Socket(at.getAddress(), at.getPort())
            .close(), "connected to " + at);
      }
      List<Object[]> second = ring.all(RingAuthenticationTest::train);
      for (int r = 0; r < K; r++) {
        assertArrayEquals((float[]) undisturbed.get(r)[0], (float[]) second.get(r)[0]);
      }
    }
  }

  @Test
  void membersWithDifferentSecretsFailSayingSo() throws Exception {
    RingKey shared = LoopbackRing.sameKey(1).get(0);
    RingKey other = LoopbackRing.sameKey(1).get(0);
    assertFirstFailureSaysTheSecretsDiffer(List.of(shared, shared, other));
  }

  @Test
  void theSameKeyForAnotherRingIsRefused() throws Exception {
    byte[] key = RingKey.generate();
    assertFirstFailureSaysTheSecretsDiffer(
        List.of(RingKey.of(key, "app/stage 4.0"), RingKey.of(key, "app/stage 4.1")));
  }

  /**
   * Every rank fails to join. The first to fail, well within the connect window, is a dialler
   * whose proof a member with the other key refused, and it says so; others may fail later on
   * their own dial or accept, once the peer that failed has gone (within the window). In a
   * barrier stage that first failure is the one Spark reports.
   */
  private static void assertFirstFailureSaysTheSecretsDiffer(List<RingKey> keys)
      throws Exception {
    RingSettings settings = SETTINGS.withConnectWindow(Duration.ofSeconds(4));
    ExecutorService threads = Executors.newFixedThreadPool(keys.size());
    try {
      long start = System.nanoTime();
      List<Future<RingCollective>> joining = LoopbackRing.join(threads, keys.size(), settings,
          keys, listeners -> listeners);
      String first = null;
      long firstAt = 0;
      List<Future<RingCollective>> left = new ArrayList<>(joining);
      while (!left.isEmpty()) {
        assertTrue(System.nanoTime() - start
            < settings.connectWindow().toNanos() + TimeUnit.SECONDS.toNanos(5), "a rank hangs");
        for (java.util.Iterator<Future<RingCollective>> it = left.iterator(); it.hasNext(); ) {
          Future<RingCollective> f = it.next();
          if (!f.isDone()) {
            continue;
          }
          it.remove();
          ExecutionException e = assertThrows(ExecutionException.class, () -> f.get().close());
          assertInstanceOf(IOException.class, e.getCause(), () -> e.getCause().toString());
          if (first == null) {
            first = e.getCause().getMessage();
            firstAt = System.nanoTime() - start;
          }
        }
        Thread.sleep(5);
      }
      assertTrue(first.contains("refused this rank's proof of the key of ring "
          + keys.get(keys.size() - 1).ring() + ": the members do not hold the same secret")
          || first.contains("refused this rank's proof of the key of ring "
          + keys.get(0).ring() + ": the members do not hold the same secret"), first);
      assertTrue(firstAt < settings.connectWindow().toNanos() / 2,
          "first failure after " + firstAt / 1e9 + " s");
    } finally {
      threads.shutdownNow();
    }
  }

  /** A little training: three all-reduces of both types, the last of a rank's own results. */
  private static Object[] train(RingCollective c) {
    float[] gradient = RingCollectiveTest.toFloats(RingCollectiveTest.values(5, c.rank(),
        100_003));
    c.allReduceSum(gradient);
    double[] stats = RingCollectiveTest.values(6, c.rank(), 64);
    c.allReduceSum(stats);
    float[] next = gradient.clone();
    for (int i = 0; i < next.length; i++) {
      next[i] = next[i] * 0.5f + (float) stats[i % stats.length];
    }
    c.allReduceSum(next);
    return new Object[] {next, stats};
  }

  private static List<InetSocketAddress> withFirst(List<InetSocketAddress> list,
      InetSocketAddress first) {
    List<InetSocketAddress> out = new ArrayList<>(list);
    out.set(0, first);
    return out;
  }

  /** Someone on the network who connects to a ring listener. */
  private static final class Stranger implements AutoCloseable {
    private final Socket socket;
    /** The acceptor's verdict on this stranger's proof, -1 if none came. */
    volatile int verdict = -1;

    private Stranger(Socket socket) {
      this.socket = socket;
    }

    /** Connected to {@code at}, or null where nothing listens there any more. */
    static Stranger connect(InetSocketAddress at) throws IOException {
      Socket s = new Socket();
      try {
        s.connect(at, 5000);
        s.setSoTimeout(10_000);
        return new Stranger(s);
      } catch (ConnectException e) {
        s.close();
        return null;
      }
    }

    /**
     * Sends what a stranger of {@code kind} sends, greeting as rank {@code as}, the neighbour the
     * listener waits for. A connection closed under it ends the act: that is a refusal.
     */
    Void act(String kind, int as, byte[] recorded) {
      try {
        switch (kind) {
          case "garbage" -> {
            byte[] g = new byte[4096];
            new SplittableRandom(5).nextBytes(g);
            socket.getOutputStream().write(g);
          }
          case "silent" -> {
          }
          case "greeting-without-key" -> handshake(greeting(as, new byte[RingKey.BYTES]), null,
              new byte[RingKey.BYTES]);
          case "wrong-key" -> handshake(greeting(as, RingKey.random(RingKey.BYTES)),
              RingKey.of(RingKey.generate(), "loopback ring"), null);
          case "replay" -> handshake(Arrays.copyOf(recorded, RingEndpoint.HELLO_BYTES), null,
              Arrays.copyOfRange(recorded, RingEndpoint.HELLO_BYTES,
                  RingEndpoint.HELLO_BYTES + RingKey.BYTES));
          default -> throw new IllegalArgumentException(kind);
        }
      } catch (IOException refused) {
        // Closed on us.
      }
      return null;
    }

    private static byte[] greeting(int rank, byte[] nonce) {
      return ByteBuffer.allocate(RingEndpoint.HELLO_BYTES).order(ByteOrder.LITTLE_ENDIAN)
          .putInt(RingCollective.MAGIC).putInt(RingEndpoint.VERSION).putInt(rank).putInt(K)
          .put(nonce).array();
    }

    /**
     * Sends {@code greeting}, reads the challenge, sends {@code proof} or one made with
     * {@code key} over the greeting's nonce, reads the verdict, then sends tensor-like bytes.
     */
    private void handshake(byte[] greeting, RingKey key, byte[] proof) throws IOException {
      OutputStream out = socket.getOutputStream();
      out.write(greeting);
      DataInputStream in = new DataInputStream(socket.getInputStream());
      byte[] challenge = new byte[RingEndpoint.CHALLENGE_BYTES];
      in.readFully(challenge);
      ByteBuffer g = ByteBuffer.wrap(greeting).order(ByteOrder.LITTLE_ENDIAN);
      int from = g.getInt(8);
      byte[] nonce = Arrays.copyOfRange(greeting, 16, RingEndpoint.HELLO_BYTES);
      int to = ByteBuffer.wrap(challenge).order(ByteOrder.LITTLE_ENDIAN).getInt(4);
      byte[] theirNonce = Arrays.copyOfRange(challenge, 8, RingEndpoint.CHALLENGE_BYTES);
      out.write(proof != null ? proof
          : key.proof(RingKey.Role.DIALER, from, to, K, nonce, theirNonce));
      verdict = in.read();
      out.write(new byte[1024]);
    }

    /** Whether the listener closed this connection (reads reach the end) within {@code d}. */
    boolean droppedWithin(Duration d) throws IOException {
      socket.setSoTimeout((int) d.toMillis());
      InputStream in = socket.getInputStream();
      try {
        while (true) {
          if (in.read() < 0) {
            return true;
          }
        }
      } catch (SocketTimeoutException e) {
        return false;
      } catch (IOException e) {
        return true; // reset by the peer
      }
    }

    @Override
    public void close() {
      try {
        socket.close();
      } catch (IOException ignored) {
        // Test cleanup.
      }
    }

    @Override
    public String toString() {
      return "stranger at " + socket.getLocalSocketAddress();
    }
  }

  /** A TCP relay to {@code target} that records what its one client sends. */
  private static final class Relay implements AutoCloseable {
    private final ServerSocket server;
    private final ByteArrayOutputStream sent = new ByteArrayOutputStream();
    private final List<Socket> sockets = new ArrayList<>();
    private final ExecutorService pumps = Executors.newFixedThreadPool(3);

    Relay(InetSocketAddress target) throws IOException {
      server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
      pumps.submit(() -> {
        Socket client = server.accept();
        Socket upstream = new Socket(target.getAddress(), target.getPort());
        synchronized (sockets) {
          sockets.add(client);
          sockets.add(upstream);
        }
        pumps.submit(() -> pump(client.getInputStream(), upstream.getOutputStream(), true));
        pumps.submit(() -> pump(upstream.getInputStream(), client.getOutputStream(), false));
        return null;
      });
    }

    InetSocketAddress address() {
      return new InetSocketAddress(server.getInetAddress(), server.getLocalPort());
    }

    byte[] recorded() {
      synchronized (sent) {
        return sent.toByteArray();
      }
    }

    private Void pump(InputStream in, OutputStream out, boolean record) throws IOException {
      byte[] buf = new byte[65536];
      for (int n; (n = in.read(buf)) >= 0; ) {
        if (record) {
          synchronized (sent) {
            if (sent.size() < 4096) {
              sent.write(buf, 0, Math.min(n, 4096 - sent.size()));
            }
          }
        }
        out.write(buf, 0, n);
      }
      out.close();
      return null;
    }

    @Override
    public void close() {
      pumps.shutdownNow();
      try {
        server.close();
        synchronized (sockets) {
          for (Socket s : sockets) {
            s.close();
          }
        }
      } catch (IOException ignored) {
        // Test cleanup.
      }
    }
  }
}
