package org.tessera.spark.sync;

import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One worker's listening socket, opened before the workers exchange addresses: its ephemeral
 * port is only known once bound, and peers may connect as soon as they learn it. {@link #connect}
 * then joins the ring and closes the listener.
 */
public final class RingEndpoint implements AutoCloseable {
  private static final int HELLO_BYTES = 12;
  private static final long RETRY_MILLIS = 100;

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
   * Connects to rank+1, accepts rank-1 and returns the collective; every rank calls this with the
   * same {@code peers} (every rank's {@link #address()}, by rank). Retries refused connections
   * for the settings' connect window, so peers may still be starting.
   */
  public RingCollective connect(int rank, List<InetSocketAddress> peers, RingSettings settings)
      throws IOException {
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
      SocketChannel right = dial(rank, size, r, peers.get(r), deadline, settings);
      SocketChannel left;
      try {
        left = accept(rank, size, l, deadline, settings);
      } catch (IOException | RuntimeException e) {
        right.close();
        throw e;
      }
      return new RingCollective(rank, size, settings, left, right,
          peerName(l, peers.get(l)), peerName(r, peers.get(r)));
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

  private static SocketChannel dial(int rank, int size, int peer, InetSocketAddress address,
      long deadline, RingSettings settings) throws IOException {
    while (true) {
      SocketChannel ch = SocketChannel.open();
      try {
        long waitMillis = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
        ch.socket().connect(address, (int) Math.min(Integer.MAX_VALUE, waitMillis));
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        ByteBuffer hello = ByteBuffer.allocate(HELLO_BYTES).order(ByteOrder.LITTLE_ENDIAN)
            .putInt(RingCollective.MAGIC).putInt(rank).putInt(size).flip();
        while (hello.hasRemaining()) {
          ch.write(hello);
        }
        return ch;
      } catch (IOException e) {
        ch.close();
        if (System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RETRY_MILLIS) > deadline) {
          throw new IOException("rank " + rank + " could not connect to "
              + peerName(peer, address) + " within " + settings.connectWindow() + ": " + e, e);
        }
        sleep(RETRY_MILLIS);
      }
    }
  }

  private SocketChannel accept(int rank, int size, int peer, long deadline,
      RingSettings settings) throws IOException {
    String local = "rank " + rank + " (" + address().getHostString() + ":" + address().getPort()
        + ")";
    listener.configureBlocking(false);
    SocketChannel ch;
    try (Selector selector = Selector.open()) {
      listener.register(selector, SelectionKey.OP_ACCEPT);
      while ((ch = listener.accept()) == null) {
        long waitMillis = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (waitMillis <= 0) {
          throw new IOException(local + ": rank " + peer + " did not connect within "
              + settings.connectWindow());
        }
        selector.select(waitMillis);
        selector.selectedKeys().clear();
      }
    }
    Object remote = ch.getRemoteAddress();
    try {
      ch.configureBlocking(true);
      ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
      long waitMillis = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
      ch.socket().setSoTimeout((int) Math.min(Integer.MAX_VALUE, waitMillis));
      byte[] raw = new byte[HELLO_BYTES];
      new DataInputStream(ch.socket().getInputStream()).readFully(raw);
      ch.socket().setSoTimeout(0);
      ByteBuffer hello = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
      int magic = hello.getInt();
      int from = hello.getInt();
      int theirSize = hello.getInt();
      if (magic != RingCollective.MAGIC || from != peer || theirSize != size) {
        throw new IOException(local + " expected rank " + peer + " of " + size + " from "
            + remote + " but got rank " + from + " of " + theirSize
            + (magic != RingCollective.MAGIC ? " (not a ring peer)" : ""));
      }
      return ch;
    } catch (SocketTimeoutException e) {
      ch.close();
      throw new IOException(local + ": " + remote + " connected but sent no greeting within "
          + settings.connectWindow(), e);
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  private static void sleep(long millis) throws IOException {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while connecting", e);
    }
  }
}
