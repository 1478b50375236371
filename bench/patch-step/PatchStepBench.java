import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.tessera.core.collective.Collective;
import org.tessera.core.nn.StateDicts;
import org.tessera.core.nn.patch.PatchNet;

/**
 * Seconds per training step of small-cnn with a 2-class classifier on one worker: forward in
 * training mode, cross-entropy gradient, backward without the tiles' gradient (what a training
 * step computes). Prints the median forward and backward seconds to stderr and the median step
 * seconds to stdout. Usage: PatchStepBench BATCH SIZE WARMUP REPS
 */
public final class PatchStepBench {

  public static void main(String[] args) {
    int batch = Integer.parseInt(args[0]);
    int size = Integer.parseInt(args[1]);
    int warmup = Integer.parseInt(args[2]);
    int reps = Integer.parseInt(args[3]);
    SplittableRandom r = new SplittableRandom(1);
    float[] x = new float[batch * 3 * size * size];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) r.nextGaussian();
    }
    INDArray tiles = Nd4j.create(x, new long[] {batch, 3, size, size}, 'c');
    float[] d = new float[batch * 2];
    for (int i = 0; i < batch; i++) {
      d[2 * i + i % 2] = 0.5f / batch;
      d[2 * i + 1 - i % 2] = -0.5f / batch;
    }
    INDArray dLogits = Nd4j.create(d, new long[] {batch, 2}, 'c');
    Map<String, float[]> encoder = StateDicts.initial("small-cnn", size, 1);
    try (PatchNet net = PatchNet.withNewClassifier("small-cnn", encoder, 2, 1,
        Collective.single())) {
      double[] fwd = new double[reps];
      double[] bwd = new double[reps];
      double[] step = new double[reps];
      for (int i = 0; i < warmup + reps; i++) {
        net.zeroGrad();
        long t0 = System.nanoTime();
        net.forward(tiles, true);
        long t1 = System.nanoTime();
        INDArray dx = backward(net, dLogits);
        long t2 = System.nanoTime();
        if (dx != null) {
          dx.close();
        }
        net.release();
        if (i >= warmup) {
          fwd[i - warmup] = (t1 - t0) / 1e9;
          bwd[i - warmup] = (t2 - t1) / 1e9;
          step[i - warmup] = (t2 - t0) / 1e9;
        }
      }
      Arrays.sort(step);
      System.err.printf("step seconds %s; median forward %.3f s, backward %.3f s%n",
          Arrays.toString(step), median(fwd), median(bwd));
      System.out.println(step[reps / 2]);
    }
  }

  /**
   * The step's backward: without the input gradient where the network offers that (revisions
   * before it compute the input gradient regardless).
   */
  private static INDArray backward(PatchNet net, INDArray dLogits) {
    try {
      return (INDArray) PatchNet.class.getMethod("backward", INDArray.class, boolean.class)
          .invoke(net, dLogits, false);
    } catch (NoSuchMethodException e) {
      return net.backward(dLogits);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(e.getCause());
    }
  }

  private static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }
}
