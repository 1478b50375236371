package org.tessera.spark.sync;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One worker's listening socket, opened before the workers exchange addresses: its ephemeral
 * port is only known once bound, and peers may connect as soon as they learn it. {@link #connect}
 * then joins the ring and closes the listener, so no connection can be made to a worker once its
 * ring is up.
 *
 * <p>Every connection is authenticated before a byte of tensor data is read. The dialler (rank
 * r, connecting to rank r+1) and the acceptor run a mutual challenge-response over the key of
 * the ring ({@link RingKey}):
 *
 * <ol>
 *   <li>dialler: greeting (magic, protocol version, its rank, ring size, a fresh 32-byte nonce);
 *   <li>acceptor: challenge (magic, its rank, a fresh 32-byte nonce);
 *   <li>dialler: its proof, HMAC-SHA256 over both nonces, the ring's name, role and ranks;
 *   <li>acceptor: if that proof is right, "accepted" and its own proof (the acceptor's role),
 *       otherwise "refused" and it closes.
 * </ol>
 *
 * Proofs are compared in constant time. Every message has a fixed length and the acceptor reads
 * them without blocking, several connections at once, each within a short handshake limit, so a
 * stranger that sends garbage, a wrong proof, a recorded handshake or nothing at all is dropped
 * (one log line naming its address) while the listener goes on waiting for the real neighbour
 * within the connect window. The dialler trusts its connection only once the acceptor has proved
 * the key too; a neighbour that refuses its proof or answers with a wrong one fails the ring at
 * once, since the members then do not share a secret.
 */
public final class RingEndpoint implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RingEndpoint.class);
  static final int VERSION = 1;
  static final int HELLO_BYTES = 4 * Integer.BYTES + RingKey.BYTES;
  static final int CHALLENGE_BYTES = 2 * Integer.BYTES + RingKey.BYTES;
  static final byte ACCEPTED = 1;
  static final byte REFUSED = 0;
  /** Longest time the acceptor gives one connection to complete its handshake. */
  static final Duration HANDSHAKE_LIMIT = Duration.ofSeconds(10);
  /** Connections the acceptor handshakes with at once; the oldest is dropped for a new one. */
  static final int MAX_PENDING = 16;
  private static final long RETRY_MILLIS = 100;
  /** How often the accept loop looks at the dialler's progress. */
  private static final long POLL_MILLIS = 50;

  private final ServerSocketChannel listener;

  private RingEndpoint(ServerSocketChannel listener) {
    this.listener = listener;
  }

  /** Listens on an ephemeral port of {@code host}, the address peers will reach this worker at. */
  public static RingEndpoint bind(InetAddress host) throws IOException {
    ServerSocketChannel ch = ServerSocketChannel.open();
    try {
      ch.bind(new InetSocketAddress(host, 0));
      return new RingEndpoint(ch);
    } catch (IOException e) {
      ch.close();
      throw new IOException("cannot listen on " + host + ": " + e.getMessage(), e);
    }
  }

  /** Where peers connect to this worker. */
  public InetSocketAddress address() throws IOException {
    return (InetSocketAddress) listener.getLocalAddress();
  }

  /**
   * Connects to rank+1 and accepts rank-1 at the same time, authenticating both connections with
   * {@code key}, and returns the collective; every rank calls this with the same {@code peers}
   * (every rank's {@link #address()}, by rank) and a key for the same ring. Retries refused
   * connections for the settings' connect window, so peers may still be starting; connections
   * that fail the handshake are dropped and the wait goes on within that window.
   */
  public RingCollective connect(int rank, List<InetSocketAddress> peers, RingSettings settings,
      RingKey key) throws IOException {
    int size = peers.size();
    if (rank < 0 || rank >= size) {
      throw new IllegalArgumentException("rank " + rank + " outside a group of " + size);
    }
    try {
      if (size == 1) {
        return RingCollective.solo(settings);
      }
      int r = (rank + 1) % size;
      int l = (rank + size - 1) % size;
      long deadline = System.nanoTime() + settings.connectWindow().toNanos();
      Dialer dialer = new Dialer(rank, size, r, peers.get(r), deadline, settings, key);
      FutureTask<SocketChannel> dialing = new FutureTask<>(dialer);
      Thread thread = new Thread(dialing, "ring-dial-rank-" + rank);
      thread.setDaemon(true);
      thread.start();
      SocketChannel left = null;
      try {
        left = accept(rank, size, l, deadline, settings, key, dialing);
        SocketChannel right = outcome(dialing);
        return new RingCollective(rank, size, settings, left, right,
            peerName(l, peers.get(l)), peerName(r, peers.get(r)));
      } catch (IOException | RuntimeException e) {
        closeQuietly(left);
        dialer.cancel();
        try {
          // Cancelling closed its socket, so it ends at once; a dial that had just succeeded
          // hands back a channel to close.
          closeQuietly(dialing.get(1, TimeUnit.SECONDS));
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
        } catch (Exception ignored) {
          // The dial failed: nothing to close.
        }
        throw e;
      }
    } finally {
      close();
    }
  }

  @Override
  public void close() throws IOException {
    listener.close();
  }

  static String peerName(int rank, InetSocketAddress address) {
    return "rank " + rank + " (" + address.getHostString() + ":" + address.getPort() + ")";
  }

  /** The dial's channel, or its failure as thrown by the dialler. */
  private static SocketChannel outcome(FutureTask<SocketChannel> dialing) throws IOException {
    try {
      return dialing.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while connecting");
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof IOException io) {
        throw io;
      }
      if (c instanceof RuntimeException re) {
        throw re;
      }
      throw new IOException(c);
    }
  }

  /**
   * The dialler's side, on a thread of its own so that every rank accepts while it dials (a ring
   * of blocking handshakes in one order would wait on itself).
   */
  private static final class Dialer implements Callable<SocketChannel> {
    private final int rank;
    private final int size;
    private final int peer;
    private final InetSocketAddress address;
    private final long deadline;
    private final RingSettings settings;
    private final RingKey key;
    private volatile boolean cancelled;
    private volatile SocketChannel current;

    Dialer(int rank, int size, int peer, InetSocketAddress address, long deadline,
        RingSettings settings, RingKey key) {
      this.rank = rank;
      this.size = size;
      this.peer = peer;
      this.address = address;
      this.deadline = deadline;
      this.settings = settings;
      this.key = key;
    }

    @Override
    public SocketChannel call() throws IOException {
      while (!cancelled) {
        SocketChannel ch = SocketChannel.open();
        current = ch;
        try {
          if (cancelled) {
            break;
          }
          ch.socket().connect(address, remainingMillis(deadline));
          ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
          // Bounded reads: a silent peer cannot hold this rank past the connect window.
          ch.socket().setSoTimeout(remainingMillis(deadline));
          handshake(ch);
          ch.socket().setSoTimeout(0);
          current = null;
          return ch;
        } catch (HandshakeFailure e) {
          ch.close();
          throw e;
        } catch (IOException e) {
          ch.close();
          if (cancelled) {
            break;
          }
          if (System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RETRY_MILLIS) > deadline) {
            throw new IOException("rank " + rank + " could not connect to "
                + peerName(peer, address) + " within " + settings.connectWindow() + ": " + e, e);
          }
          sleep(RETRY_MILLIS);
        }
      }
      throw new IOException("rank " + rank + " stopped connecting to " + peerName(peer, address)
          + ": joining the ring failed");
    }

    void cancel() {
      cancelled = true;
      closeQuietly(current);
    }

    private void handshake(SocketChannel ch) throws IOException {
      String them = peerName(peer, address);
      byte[] nonce = RingKey.random(RingKey.BYTES);
      writeFully(ch, ByteBuffer.allocate(HELLO_BYTES).order(ByteOrder.LITTLE_ENDIAN)
          .putInt(RingCollective.MAGIC).putInt(VERSION).putInt(rank).putInt(size).put(nonce)
          .flip());
      DataInputStream in = new DataInputStream(ch.socket().getInputStream());
      byte[] raw = new byte[CHALLENGE_BYTES];
      in.readFully(raw);
      ByteBuffer challenge = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
      int magic = challenge.getInt();
      int theirRank = challenge.getInt();
      byte[] theirNonce = new byte[RingKey.BYTES];
      challenge.get(theirNonce);
      if (magic != RingCollective.MAGIC || theirRank != peer) {
        throw new HandshakeFailure("rank " + rank + ": " + them + " answered as "
            + (magic != RingCollective.MAGIC ? "something that is not a ring peer"
                : "rank " + theirRank));
      }
      writeFully(ch, ByteBuffer.wrap(
          key.proof(RingKey.Role.DIALER, rank, peer, size, nonce, theirNonce)));
      int verdict = in.read();
      if (verdict < 0) {
        throw new EOFException(them + " closed the connection during the handshake");
      }
      if (verdict != ACCEPTED) {
        throw new HandshakeFailure("rank " + rank + ": " + them + " refused this rank's proof "
            + "of the key of ring " + key.ring() + ": the members do not hold the same secret");
      }
      byte[] theirs = new byte[RingKey.BYTES];
      in.readFully(theirs);
      byte[] expected = key.proof(RingKey.Role.ACCEPTOR, rank, peer, size, nonce, theirNonce);
      if (!MessageDigest.isEqual(expected, theirs)) {
        throw new HandshakeFailure("rank " + rank + ": " + them + " did not prove it holds the "
            + "key of ring " + key.ring() + ": the members do not hold the same secret");
      }
    }
  }

  /** A handshake that failed on proof or identity: retrying cannot help. */
  static final class HandshakeFailure extends IOException {
    private static final long serialVersionUID = 1L;

    HandshakeFailure(String message) {
      super(message);
    }
  }

  /** Why the acceptor dropped a connection. */
  private static final class Refused extends Exception {
    private static final long serialVersionUID = 1L;

    Refused(String reason) {
      super(reason, null, false, false);
    }
  }

  /** Accepts rank {@code peer}, handshaking with every connection that arrives meanwhile. */
  private SocketChannel accept(int rank, int size, int peer, long deadline, RingSettings settings,
      RingKey key, FutureTask<SocketChannel> dialing) throws IOException {
    String local = peerName(rank, address());
    long limit = Math.min(settings.timeout().toNanos(), HANDSHAKE_LIMIT.toNanos());
    ArrayDeque<Pending> pending = new ArrayDeque<>();
    int refusedCount = 0;
    String lastRefusal = null;
    listener.configureBlocking(false);
    try (Selector selector = Selector.open()) {
      listener.register(selector, SelectionKey.OP_ACCEPT);
      while (true) {
        if (dialing.isDone()) {
          outcome(dialing); // throws if the dial failed; a finished dial just stops counting
        }
        if (Thread.currentThread().isInterrupted()) {
          throw new InterruptedIOException(local + ": interrupted while waiting for rank "
              + peer);
        }
        long now = System.nanoTime();
        if (now - deadline >= 0) {
          throw new IOException(local + ": rank " + peer + " did not connect within "
              + settings.connectWindow() + (refusedCount == 0 ? ""
                  : " (refused " + refusedCount + " connection(s) that failed the handshake, "
                      + "the last " + lastRefusal + ")"));
        }
        long wake = Math.min(deadline - now, TimeUnit.MILLISECONDS.toNanos(POLL_MILLIS));
        for (Iterator<Pending> it = pending.iterator(); it.hasNext(); ) {
          Pending p = it.next();
          if (now - p.expires >= 0) {
            it.remove();
            lastRefusal = refuse(local, p, "sent no complete handshake within "
                + Duration.ofNanos(limit));
            refusedCount++;
          } else {
            wake = Math.min(wake, p.expires - now);
          }
        }
        selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(wake)));
        SocketChannel neighbour = null;
        for (SelectionKey k : selector.selectedKeys()) {
          if (k.channel() == listener) {
            SocketChannel ch;
            while ((ch = listener.accept()) != null) {
              if (pending.size() >= MAX_PENDING) {
                lastRefusal = refuse(local, pending.removeFirst(), "dropped the oldest of "
                    + MAX_PENDING + " connections still handshaking");
                refusedCount++;
              }
              try {
                pending.add(new Pending(ch, selector, rank, size, peer, key,
                    System.nanoTime() + limit));
              } catch (IOException e) {
                // Gone before its handshake began (Pending closed it).
                lastRefusal = "from an unknown address: " + e;
                refusedCount++;
              }
            }
            continue;
          }
          Pending p = (Pending) k.attachment();
          if (!k.isValid() || !pending.contains(p)) {
            continue;
          }
          try {
            if (p.advance()) {
              pending.remove(p);
              neighbour = p.ch;
              break;
            }
          } catch (Refused e) {
            pending.remove(p);
            lastRefusal = refuse(local, p, e.getMessage());
            refusedCount++;
          } catch (IOException e) {
            pending.remove(p);
            lastRefusal = refuse(local, p, "connection failed during the handshake: " + e);
            refusedCount++;
          }
        }
        selector.selectedKeys().clear();
        if (neighbour != null) {
          for (Pending p : pending) {
            refuse(local, p, "rank " + peer + " had already connected");
          }
          return neighbour;
        }
      }
    } catch (IOException | RuntimeException e) {
      for (Pending p : pending) {
        closeQuietly(p.ch);
      }
      throw e;
    }
  }

  /** Closes a dropped connection and logs it; returns the reason with the remote address. */
  private static String refuse(String local, Pending p, String reason) {
    closeQuietly(p.ch);
    LOG.warn("{}: refused a ring connection from {}: {}", local, p.remote, reason);
    return "from " + p.remote + ": " + reason;
  }

  /** The acceptor's side of one connection's handshake, advanced as its channel is ready. */
  private static final class Pending {
    final SocketChannel ch;
    final Object remote;
    final long expires;
    private final SelectionKey selection;
    private final int rank;
    private final int size;
    private final int peer;
    private final RingKey key;
    private final ByteBuffer in = ByteBuffer.allocate(HELLO_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private ByteBuffer out;
    private byte[] dialerNonce;
    private byte[] nonce;
    private boolean provedByDialer;

    Pending(SocketChannel ch, Selector selector, int rank, int size, int peer, RingKey key,
        long expires) throws IOException {
      this.ch = ch;
      Object r;
      try {
        r = ch.getRemoteAddress();
      } catch (IOException e) {
        r = "an unknown address";
      }
      this.remote = r;
      this.rank = rank;
      this.size = size;
      this.peer = peer;
      this.key = key;
      this.expires = expires;
      try {
        ch.configureBlocking(false);
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        selection = ch.register(selector, SelectionKey.OP_READ, this);
      } catch (IOException | RuntimeException e) {
        ch.close();
        throw e;
      }
    }

    /** Reads or writes what the channel allows; true once the dialler is authenticated. */
    boolean advance() throws IOException, Refused {
      if (out != null) {
        ch.write(out);
        if (out.hasRemaining()) {
          return false;
        }
        out = null;
        if (provedByDialer) {
          return true;
        }
        in.clear().limit(RingKey.BYTES);
        selection.interestOps(SelectionKey.OP_READ);
      }
      if (ch.read(in) < 0) {
        throw new Refused("closed the connection "
            + (dialerNonce == null ? "before completing its greeting" : "before its proof"));
      }
      if (in.hasRemaining()) {
        return false;
      }
      in.flip();
      if (dialerNonce == null) {
        greeting();
      } else {
        proof();
      }
      ch.write(out);
      if (out.hasRemaining()) {
        selection.interestOps(SelectionKey.OP_WRITE);
        return false;
      }
      return advance();
    }

    private void greeting() throws Refused {
      int magic = in.getInt();
      int version = in.getInt();
      int from = in.getInt();
      int theirSize = in.getInt();
      if (magic != RingCollective.MAGIC) {
        throw new Refused("sent bytes that are not a ring greeting");
      }
      if (version != VERSION) {
        throw new Refused("speaks ring protocol version " + version + ", not " + VERSION);
      }
      if (from != peer || theirSize != size) {
        throw new Refused("claims to be rank " + from + " of " + theirSize + ", expected rank "
            + peer + " of " + size);
      }
      dialerNonce = new byte[RingKey.BYTES];
      in.get(dialerNonce);
      nonce = RingKey.random(RingKey.BYTES);
      out = ByteBuffer.allocate(CHALLENGE_BYTES).order(ByteOrder.LITTLE_ENDIAN)
          .putInt(RingCollective.MAGIC).putInt(rank).put(nonce).flip();
    }

    private void proof() throws IOException, Refused {
      byte[] theirs = new byte[RingKey.BYTES];
      in.get(theirs);
      byte[] expected = key.proof(RingKey.Role.DIALER, peer, rank, size, dialerNonce, nonce);
      if (!MessageDigest.isEqual(expected, theirs)) {
        // Best effort, so that a member holding another secret can say why it failed.
        ch.write(ByteBuffer.wrap(new byte[] {REFUSED}));
        throw new Refused("its proof of the key of ring " + key.ring() + " is wrong");
      }
      provedByDialer = true;
      out = ByteBuffer.allocate(1 + RingKey.BYTES).put(ACCEPTED)
          .put(key.proof(RingKey.Role.ACCEPTOR, peer, rank, size, dialerNonce, nonce)).flip();
    }
  }

  private static void writeFully(SocketChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

  private static int remainingMillis(long deadline) {
    long ms = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, ms));
  }

  private static void closeQuietly(SocketChannel ch) {
    if (ch != null) {
      try {
        ch.close();
      } catch (IOException ignored) {
        // Best effort: the channel is being dropped.
      }
    }
  }

  private static void sleep(long millis) throws IOException {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while connecting");
    }
  }
}
