package org.tessera.spark.sync;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import org.tessera.core.collective.Collective;

/**
 * {@link Collective} over TCP: the workers form a ring (each sends to rank+1 and receives from
 * rank-1) and all-reduce with a reduce-scatter followed by an all-gather. Each worker sends and
 * receives 2(K-1)/K of the array per call, whatever K is, and no coordinator sees the data.
 *
 * <p>The array is cut into K chunks. In the reduce-scatter, chunk c travels once around the ring
 * starting at rank c and each rank adds its own values, so chunk c is summed in one fixed order
 * by the time rank c-1 holds it; the all-gather then copies those bytes unchanged to every rank,
 * which makes results bit-identical on all ranks.
 *
 * <p>Each step sends one chunk while receiving another over non-blocking channels on the
 * caller's thread, a segment at a time: a ring in which everyone first sends and then receives
 * would deadlock once the socket buffers fill. Every message starts with a header (call number,
 * element type, array length, step), so ranks that make different calls fail with a message
 * saying how instead of summing unrelated bytes. Any failure closes this collective, so its
 * neighbours see the connection drop and fail in turn rather than wait out their timeout.
 *
 * <p>Not thread-safe: each rank's collective belongs to one thread. Built by
 * {@link RingEndpoint#connect}.
 */
public final class RingCollective implements Collective {
  static final int MAGIC = 0x54535952;
  private static final int HEADER_BYTES = 24;
  private static final int FLOAT = 1;
  private static final int DOUBLE = 2;

  private final int rank;
  private final int size;
  private final Duration timeout;
  private final SocketChannel left;
  private final SocketChannel right;
  private final String leftName;
  private final String rightName;
  private final Selector selector;
  private final SelectionKey leftKey;
  private final SelectionKey rightKey;
  private final ByteBuffer sendBuf;
  private final ByteBuffer recvBuf;
  private final int segmentBytes;
  private float[] floatScratch;
  private double[] doubleScratch;

  private long seq;
  private long bytesSent;
  private long bytesReceived;
  private long nanos;
  private String closedBecause;

  /** The group of one: no sockets, sums are the caller's own values. */
  static RingCollective solo(RingSettings settings) {
    return new RingCollective(0, 1, settings, null, null, null, null);
  }

  /** Takes ownership of two connected channels; {@code left} receives from rank-1. */
  RingCollective(int rank, int size, RingSettings settings, SocketChannel left,
      SocketChannel right, String leftName, String rightName) {
    this.rank = rank;
    this.size = size;
    this.timeout = settings.timeout();
    this.left = left;
    this.right = right;
    this.leftName = leftName;
    this.rightName = rightName;
    this.segmentBytes = settings.segmentBytes();
    if (size == 1) {
      selector = null;
      leftKey = rightKey = null;
      sendBuf = recvBuf = null;
      return;
    }
    try {
      selector = Selector.open();
      left.configureBlocking(false);
      right.configureBlocking(false);
      leftKey = left.register(selector, 0);
      rightKey = right.register(selector, 0);
    } catch (IOException e) {
      closeQuietly();
      throw new CollectiveException("rank " + rank + ": cannot set up the ring channels: " + e, e);
    }
    sendBuf = ByteBuffer.allocateDirect(HEADER_BYTES + segmentBytes)
        .order(ByteOrder.LITTLE_ENDIAN);
    recvBuf = ByteBuffer.allocateDirect(HEADER_BYTES + segmentBytes)
        .order(ByteOrder.LITTLE_ENDIAN);
  }

  @Override
  public int rank() {
    return rank;
  }

  @Override
  public int size() {
    return size;
  }

  @Override
  public void allReduceSum(float[] data) {
    allReduce(new Floats(data));
  }

  @Override
  public void allReduceSum(double[] data) {
    allReduce(new Doubles(data));
  }

  /** Traffic and time of every all-reduce so far on this rank. */
  public SyncStats stats() {
    return new SyncStats(seq, bytesSent, bytesReceived, nanos);
  }

  @Override
  public void close() {
    if (closedBecause == null) {
      closedBecause = "it was closed";
    }
    closeQuietly();
  }

  @Override
  public String toString() {
    return "RingCollective[rank " + rank + " of " + size
        + (size > 1 ? ", left " + leftName + ", right " + rightName : "") + "]";
  }

  private void allReduce(Payload p) {
    if (closedBecause != null) {
      throw new CollectiveException("rank " + rank + ": all-reduce #" + (seq + 1)
          + " on a closed collective (" + closedBecause + ")");
    }
    long start = System.nanoTime();
    seq++;
    try {
      // Reduce-scatter: rank r ends up owning the full sum of chunk r+1.
      for (int s = 0; s < size - 1; s++) {
        exchange(p, s, Math.floorMod(rank - s, size), Math.floorMod(rank - s - 1, size), true);
      }
      // All-gather: owners' sums go round unchanged.
      for (int s = 0; s < size - 1; s++) {
        exchange(p, size - 1 + s, Math.floorMod(rank + 1 - s, size),
            Math.floorMod(rank - s, size), false);
      }
    } catch (CollectiveException e) {
      closedBecause = e.getMessage();
      closeQuietly();
      throw e;
    } finally {
      nanos += System.nanoTime() - start;
    }
  }

  /** One ring step: sends chunk {@code out} to the right while receiving chunk {@code in}. */
  private void exchange(Payload p, int step, int out, int in, boolean add) {
    int n = p.length();
    int sendAt = chunkStart(n, out);
    int sendEnd = chunkStart(n, out + 1);
    int recvAt = chunkStart(n, in);
    int recvEnd = chunkStart(n, in + 1);
    int perSegment = segmentBytes / p.elementBytes();

    sendBuf.clear();
    sendBuf.putInt(MAGIC).putInt(p.type()).putLong(seq).putInt(n).putInt(step);
    sendAt += p.encode(sendBuf, sendAt, Math.min(perSegment, sendEnd - sendAt));
    sendBuf.flip();
    boolean sending = true;

    recvBuf.clear().limit(HEADER_BYTES);
    boolean header = true;
    boolean receiving = true;

    long waitNanos = timeout.toNanos();
    long deadline = System.nanoTime() + waitNanos;
    while (sending || receiving) {
      boolean progress = false;
      if (sending) {
        int w = write();
        if (w > 0) {
          progress = true;
          bytesSent += w;
        }
        if (!sendBuf.hasRemaining()) {
          if (sendAt < sendEnd) {
            sendBuf.clear();
            sendAt += p.encode(sendBuf, sendAt, Math.min(perSegment, sendEnd - sendAt));
            sendBuf.flip();
          } else {
            sending = false;
          }
        }
      }
      if (receiving) {
        int r = read();
        if (r > 0) {
          progress = true;
          bytesReceived += r;
        }
        if (!recvBuf.hasRemaining()) {
          recvBuf.flip();
          if (header) {
            checkHeader(p, step);
            header = false;
          } else {
            recvAt += p.decode(recvBuf, recvAt, recvBuf.remaining() / p.elementBytes(), add);
          }
          if (recvAt < recvEnd) {
            recvBuf.clear().limit(Math.min(perSegment, recvEnd - recvAt) * p.elementBytes());
          } else {
            receiving = false;
          }
        }
      }
      if (progress) {
        deadline = System.nanoTime() + waitNanos;
      } else if (sending || receiving) {
        await(sending, receiving, deadline);
      }
    }
  }

  private int write() {
    try {
      return right.write(sendBuf);
    } catch (IOException e) {
      throw new CollectiveException(callName() + ": sending to " + rightName + " failed: " + e, e);
    }
  }

  private int read() {
    int r;
    try {
      r = left.read(recvBuf);
    } catch (IOException e) {
      throw new CollectiveException(
          callName() + ": receiving from " + leftName + " failed: " + e, e);
    }
    if (r < 0) {
      throw new CollectiveException(callName() + ": " + leftName
          + " closed the connection (it failed or closed its collective)");
    }
    return r;
  }

  private void await(boolean sending, boolean receiving, long deadline) {
    long remaining = deadline - System.nanoTime();
    if (remaining <= 0) {
      String who = receiving
          ? leftName + " to send data" : rightName + " to accept data";
      throw new CollectiveException(callName() + ": waited " + timeout + " for " + who
          + " (is it dead, stalled or in a different call?)");
    }
    rightKey.interestOps(sending ? SelectionKey.OP_WRITE : 0);
    leftKey.interestOps(receiving ? SelectionKey.OP_READ : 0);
    try {
      selector.select(Math.max(1, remaining / 1_000_000));
    } catch (IOException e) {
      throw new CollectiveException(callName() + ": waiting on the ring failed: " + e, e);
    }
    selector.selectedKeys().clear();
    if (Thread.currentThread().isInterrupted()) {
      throw new CollectiveException(callName() + ": interrupted");
    }
  }

  private void checkHeader(Payload p, int step) {
    int magic = recvBuf.getInt();
    int type = recvBuf.getInt();
    long theirSeq = recvBuf.getLong();
    int length = recvBuf.getInt();
    int theirStep = recvBuf.getInt();
    if (magic != MAGIC) {
      throw new CollectiveException(callName() + ": " + leftName
          + " sent bytes that are not a ring message (magic " + Integer.toHexString(magic) + ")");
    }
    if (theirSeq != seq) {
      throw new CollectiveException(callName() + ": " + leftName + " is at all-reduce #"
          + theirSeq + " (every rank must make the same sequence of calls)");
    }
    if (type != p.type() || length != p.length()) {
      throw new CollectiveException(callName() + ": this rank has " + typeName(p.type()) + "["
          + p.length() + "] but " + leftName + " has " + typeName(type) + "[" + length
          + "] (every rank must pass the same type and length)");
    }
    if (theirStep != step) {
      throw new CollectiveException(callName() + ": " + leftName + " is at ring step "
          + theirStep + ", this rank at " + step);
    }
  }

  private String callName() {
    return "rank " + rank + " all-reduce #" + seq;
  }

  private static String typeName(int type) {
    return type == FLOAT ? "float" : type == DOUBLE ? "double" : "type " + type;
  }

  /** First element of chunk {@code c} of {@code size} near-equal chunks of {@code n}. */
  private int chunkStart(int n, int c) {
    return (int) ((long) n * c / size);
  }

  private void closeQuietly() {
    for (AutoCloseable c : new AutoCloseable[] {selector, left, right}) {
      if (c != null) {
        try {
          c.close();
        } catch (Exception ignored) {
          // Closing is best effort: the peers see the connection drop either way.
        }
      }
    }
  }

  /** The array being reduced, behind its element type. */
  private abstract static class Payload {
    abstract int type();

    abstract int length();

    abstract int elementBytes();

    /** Appends {@code count} elements from {@code from} to {@code buf}; returns count. */
    abstract int encode(ByteBuffer buf, int from, int count);

    /** Adds or copies the elements in {@code buf} into the array at {@code from}; returns count. */
    abstract int decode(ByteBuffer buf, int from, int count, boolean add);
  }

  private final class Floats extends Payload {
    private final float[] data;

    Floats(float[] data) {
      this.data = data;
    }

    @Override
    int type() {
      return FLOAT;
    }

    @Override
    int length() {
      return data.length;
    }

    @Override
    int elementBytes() {
      return Float.BYTES;
    }

    @Override
    int encode(ByteBuffer buf, int from, int count) {
      buf.asFloatBuffer().put(data, from, count);
      buf.position(buf.position() + count * Float.BYTES);
      return count;
    }

    @Override
    int decode(ByteBuffer buf, int from, int count, boolean add) {
      if (!add) {
        buf.asFloatBuffer().get(data, from, count);
        return count;
      }
      if (floatScratch == null) {
        floatScratch = new float[segmentBytes / Float.BYTES];
      }
      float[] s = floatScratch;
      buf.asFloatBuffer().get(s, 0, count);
      for (int i = 0; i < count; i++) {
        data[from + i] += s[i];
      }
      return count;
    }
  }

  private final class Doubles extends Payload {
    private final double[] data;

    Doubles(double[] data) {
      this.data = data;
    }

    @Override
    int type() {
      return DOUBLE;
    }

    @Override
    int length() {
      return data.length;
    }

    @Override
    int elementBytes() {
      return Double.BYTES;
    }

    @Override
    int encode(ByteBuffer buf, int from, int count) {
      buf.asDoubleBuffer().put(data, from, count);
      buf.position(buf.position() + count * Double.BYTES);
      return count;
    }

    @Override
    int decode(ByteBuffer buf, int from, int count, boolean add) {
      if (!add) {
        buf.asDoubleBuffer().get(data, from, count);
        return count;
      }
      if (doubleScratch == null) {
        doubleScratch = new double[segmentBytes / Double.BYTES];
      }
      double[] s = doubleScratch;
      buf.asDoubleBuffer().get(s, 0, count);
      for (int i = 0; i < count; i++) {
        data[from + i] += s[i];
      }
      return count;
    }
  }
}
