import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.tessera.spark.sync.RingCollective;
import org.tessera.spark.sync.RingEndpoint;
import org.tessera.spark.sync.RingKey;
import org.tessera.spark.sync.RingSettings;

/**
 * Ring all-reduce at K = 2, the two ranks as threads of this JVM over loopback TCP, against the
 * transport's ceiling: one TCP stream carrying the same array from one thread to the other
 * (encoded and decoded through a direct buffer the same way), acknowledged with one byte so
 * each transfer is a complete call like an all-reduce. For each size prints two lines: time per
 * call (latency) and array bytes / time per call (algorithmic bandwidth), medians of WINDOWS
 * timed windows. Usage: AllReduceBench FLOATS... (sizes in floats)
 */
public final class AllReduceBench {
  private static final int SEGMENT = 1 << 20;
  private static final int WINDOWS = 5;

  public static void main(String[] args) throws Exception {
    ExecutorService threads = Executors.newFixedThreadPool(2);
    long setup = System.nanoTime();
    List<RingCollective> ring = ring(threads);
    System.err.printf("ring setup (K=2: bind, connect, authenticate both connections): %.2f ms%n",
        (System.nanoTime() - setup) / 1e6);
    SocketChannel[] stream = stream();
    for (String a : args) {
      int n = Integer.parseInt(a);
      int reps = (int) Math.max(3, Math.min(2000, 200_000_000L / (4L * n + 100_000)));
      double ours = median(() -> timeRing(threads, ring, n, reps));
      double base = median(() -> timeStream(threads, stream, n, reps));
      String size = label(4L * n);
      System.out.printf("allreduce %s latency (us, K=2 threads, loopback): ours %.1f, "
          + "baseline %.1f, ratio %.2f%n", size, ours * 1e6, base * 1e6, ours / base);
      System.out.printf("allreduce %s bandwidth (GB/s, K=2 threads, loopback): ours %.3f, "
          + "baseline %.3f, ratio %.2f%n", size, 4.0 * n / ours / 1e9, 4.0 * n / base / 1e9,
          base / ours);
      System.err.printf("allreduce %s: %d calls per window; rank 0 sent %d bytes in all%n",
          size, reps, ring.get(0).stats().bytesSent());
    }
    ring.forEach(RingCollective::close);
    stream[0].close();
    stream[1].close();
    threads.shutdownNow();
  }

  private static List<RingCollective> ring(ExecutorService threads) throws Exception {
    InetAddress lo = InetAddress.getLoopbackAddress();
    RingEndpoint e0 = RingEndpoint.bind(lo);
    RingEndpoint e1 = RingEndpoint.bind(lo);
    List<InetSocketAddress> peers = List.of(e0.address(), e1.address());
    RingSettings settings = RingSettings.defaults().withSegmentBytes(SEGMENT);
    RingKey key = RingKey.of(RingKey.generate(), "bench");
    Future<RingCollective> r1 = threads.submit(() -> e1.connect(1, peers, settings, key));
    return List.of(e0.connect(0, peers, settings, key), r1.get());
  }

  private static SocketChannel[] stream() throws Exception {
    try (ServerSocketChannel server = ServerSocketChannel.open()) {
      server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      SocketChannel out = SocketChannel.open(server.getLocalAddress());
      SocketChannel in = server.accept();
      out.setOption(StandardSocketOptions.TCP_NODELAY, true);
      in.setOption(StandardSocketOptions.TCP_NODELAY, true);
      return new SocketChannel[] {out, in};
    }
  }

  /** Seconds per all-reduce of n floats, on rank 0, both ranks calling reps times. */
  private static double timeRing(ExecutorService threads, List<RingCollective> ring, int n,
      int reps) throws Exception {
    CyclicBarrier start = new CyclicBarrier(2);
    Future<?> other = threads.submit(() -> {
      float[] x = new float[n];
      start.await();
      for (int i = 0; i < reps; i++) {
        ring.get(1).allReduceSum(x);
      }
      return null;
    });
    float[] x = new float[n];
    start.await();
    long t0 = System.nanoTime();
    for (int i = 0; i < reps; i++) {
      ring.get(0).allReduceSum(x);
    }
    long t = System.nanoTime() - t0;
    other.get();
    return t / 1e9 / reps;
  }

  /** Seconds per one-way transfer of n floats plus a one-byte acknowledgement. */
  private static double timeStream(ExecutorService threads, SocketChannel[] ch, int n, int reps)
      throws Exception {
    CyclicBarrier start = new CyclicBarrier(2);
    Future<?> receiver = threads.submit(() -> {
      float[] x = new float[n];
      ByteBuffer buf = ByteBuffer.allocateDirect(SEGMENT).order(ByteOrder.LITTLE_ENDIAN);
      ByteBuffer ack = ByteBuffer.allocateDirect(1);
      start.await();
      for (int i = 0; i < reps; i++) {
        for (int at = 0; at < n; ) {
          int count = Math.min(SEGMENT / 4, n - at);
          buf.clear().limit(count * 4);
          while (buf.hasRemaining()) {
            ch[1].read(buf);
          }
          buf.flip();
          buf.asFloatBuffer().get(x, at, count);
          at += count;
        }
        ack.clear();
        ch[1].write(ack);
      }
      return null;
    });
    float[] x = new float[n];
    ByteBuffer buf = ByteBuffer.allocateDirect(SEGMENT).order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer ack = ByteBuffer.allocateDirect(1);
    start.await();
    long t0 = System.nanoTime();
    for (int i = 0; i < reps; i++) {
      for (int at = 0; at < n; ) {
        int count = Math.min(SEGMENT / 4, n - at);
        buf.clear();
        buf.asFloatBuffer().put(x, at, count);
        buf.limit(count * 4);
        while (buf.hasRemaining()) {
          ch[0].write(buf);
        }
        at += count;
      }
      ack.clear();
      while (ack.hasRemaining()) {
        ch[0].read(ack);
      }
    }
    long t = System.nanoTime() - t0;
    receiver.get();
    return t / 1e9 / reps;
  }

  interface Timed {
    double seconds() throws Exception;
  }

  /** Median of WINDOWS measurements after one untimed window (JIT, TCP window growth). */
  private static double median(Timed t) throws Exception {
    t.seconds();
    double[] s = new double[WINDOWS];
    for (int i = 0; i < WINDOWS; i++) {
      s[i] = t.seconds();
    }
    java.util.Arrays.sort(s);
    return s[WINDOWS / 2];
  }

  private static String label(long bytes) {
    if (bytes % (1 << 20) == 0) {
      return bytes / (1 << 20) + " MiB";
    }
    return bytes % 1024 == 0 ? bytes / 1024 + " KiB" : String.format("%.0f MB", bytes / 1e6);
  }
}
