import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.tessera.core.nn.OnnxDevice;
import org.tessera.core.nn.OnnxEncoder;
import org.tessera.core.nn.OnnxOptions;

/**
 * Forward-only throughput of an ONNX encoder as the embed stage runs it on local[T]: T threads
 * calling one session with one intra-op thread each (spark.task.cpus = 1), on random batches
 * (no reading, decoding or preprocessing). Prints tiles per second.
 * Usage: java OnnxForward MODEL.onnx THREADS BATCH TILES
 */
public final class OnnxForward {
  public static void main(String[] args) throws Exception {
    Path model = Path.of(args[0]);
    int threads = Integer.parseInt(args[1]);
    int batch = Integer.parseInt(args[2]);
    int tiles = Integer.parseInt(args[3]);
    try (OnnxEncoder enc = OnnxEncoder.load(model, OnnxOptions.defaults()
        .withDevice(OnnxDevice.cpu(1)), OptionalInt.empty())) {
      int per = 3 * enc.inputSize() * enc.inputSize();
      float[] input = new float[batch * per];
      Random r = new Random(1);
      for (int i = 0; i < input.length; i++) {
        input[i] = (float) r.nextGaussian();
      }
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      // Warm-up: one batch per thread.
      run(pool, threads, () -> enc.embed(input, batch));
      int batchesPerThread = Math.max(1, tiles / batch / threads);
      long t0 = System.nanoTime();
      run(pool, threads, () -> {
        for (int b = 0; b < batchesPerThread; b++) {
          enc.embed(input, batch);
        }
      });
      double s = (System.nanoTime() - t0) / 1e9;
      pool.shutdown();
      System.out.println(batchesPerThread * threads * batch / s);
    }
  }

  private static void run(ExecutorService pool, int threads, Runnable work) throws Exception {
    List<Future<?>> fs = new ArrayList<>();
    for (int i = 0; i < threads; i++) {
      fs.add(pool.submit(work));
    }
    for (Future<?> f : fs) {
      f.get();
    }
  }
}
