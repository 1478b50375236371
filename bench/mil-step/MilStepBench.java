import java.util.Arrays;
import java.util.SplittableRandom;
import org.tessera.core.data.Bag;
import org.tessera.core.nn.mil.MilConfig;
import org.tessera.core.nn.mil.MilModel;

/**
 * Training steps per second of one gated-attention head on one bag: forward, loss and gradients
 * of every parameter, dropout on. Prints the median steps/s over the timed repetitions.
 * Usage: MilStepBench N DIM WARMUP REPS
 */
public final class MilStepBench {

  public static void main(String[] args) {
    int n = Integer.parseInt(args[0]);
    int dim = Integer.parseInt(args[1]);
    int warmup = Integer.parseInt(args[2]);
    int reps = Integer.parseInt(args[3]);
    SplittableRandom r = new SplittableRandom(1);
    float[] f = new float[n * dim];
    for (int i = 0; i < f.length; i++) {
      f[i] = (float) r.nextGaussian();
    }
    Bag bag = new Bag("bench", n, dim, f, new int[n], new int[n]);
    try (MilModel m = MilModel.create(MilConfig.defaults("gated-abmil", dim, 2), 1)) {
      double[] grad = new double[m.numParams()];
      for (int i = 0; i < warmup; i++) {
        m.accumulateGradient(bag, 1, i, grad);
      }
      double[] seconds = new double[reps];
      for (int i = 0; i < reps; i++) {
        long t0 = System.nanoTime();
        m.accumulateGradient(bag, 1, warmup + i, grad);
        seconds[i] = (System.nanoTime() - t0) / 1e9;
      }
      Arrays.sort(seconds);
      System.err.println("ours: step seconds " + Arrays.toString(seconds));
      System.out.println(1 / seconds[reps / 2]);
    }
  }
}
