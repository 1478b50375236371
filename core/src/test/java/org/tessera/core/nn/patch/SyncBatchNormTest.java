package org.tessera.core.nn.patch;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.tessera.core.collective.Collective;
import org.tessera.core.optim.Optimizer;
import org.tessera.core.optim.OptimizerConfig;

/**
 * Synchronized BatchNorm is exact: K thread workers with batch b each compute what one worker
 * computes on the concatenated batch K·b (outputs, input gradients, summed parameter gradients,
 * running statistics and parameters after one optimizer step), for one BN layer and for the whole
 * small-cnn + classifier. Switching the backward correction off must break the input gradients,
 * which shows the comparison would notice it missing.
 */
class SyncBatchNormTest {

  private static final double TOLERANCE = 1e-5;
  private static final int PER_WORKER = 3;
  private static final int CHANNELS = 5;
  private static final int SIZE = 4;

  /** What one worker (or the single reference) produced. */
  private record Run(float[] y, float[] dx, float[] grad, float[] params, float[] buffers) {}

  @ParameterizedTest
  @ValueSource(ints = {2, 4})
  void singleLayerMatchesConcatenatedBatch(int k) throws Exception {
    int n = k * PER_WORKER;
    float[] x = values(n * CHANNELS * SIZE * SIZE, 1, 2.0, 0.7);
    float[] dy = values(x.length, 2, 1.0, 0.2);
    Run single = bnLayer(Collective.single(), x, dy, 0, n, true);
    for (boolean sync : new boolean[] {true, false}) {
      List<Run> runs = Workers.run(k, c -> bnLayer(c, x, dy, c.rank() * PER_WORKER,
          (c.rank() + 1) * PER_WORKER, sync));
      compare("BN layer, K=" + k + (sync ? "" : " without backward correction"), single, runs,
          sync);
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {2, 4})
  void smallCnnMatchesConcatenatedBatch(int k) throws Exception {
    int size = 16;
    int n = k * PER_WORKER;
    float[] x = PatchFixtures.tiles(n, size, 11);
    int[] labels = PatchFixtures.labels(n, 3, 12);
    Map<String, float[]> state = PatchFixtures.smallCnnState(size, 13);
    Run single = net(Collective.single(), state, x, labels, 0, n, n, size, true);
    for (boolean sync : new boolean[] {true, false}) {
      List<Run> runs = Workers.run(k, c -> net(c, state, x, labels, c.rank() * PER_WORKER,
          (c.rank() + 1) * PER_WORKER, n, size, sync));
      compare("small-cnn, K=" + k + (sync ? "" : " without backward correction"), single, runs,
          sync);
    }
  }

  private static Run bnLayer(Collective c, float[] x, float[] dy, int from, int to,
      boolean sync) {
    BatchNorm2d bn = new BatchNorm2d("bn", CHANNELS, c);
    bn.setSyncBackward(sync);
    List<Param> params = new ArrayList<>();
    List<Param> buffers = new ArrayList<>();
    bn.collect(params, buffers);
    params.get(0).value().assign(Nd4j.createFromArray(values(CHANNELS, 3, 1.0, 0.3)));
    params.get(1).value().assign(Nd4j.createFromArray(values(CHANNELS, 4, 0.0, 0.5)));
    INDArray y = bn.forward(slice(x, from, to), true);
    INDArray dx = bn.backward(slice(dy, from, to));
    float[] grad = concat(params.get(0).grad().toFloatVector(),
        params.get(1).grad().toFloatVector());
    float[] p = concat(params.get(0).value().toFloatVector(), params.get(1).value().toFloatVector());
    // The trainer's gradient all-reduce and optimizer step, on this layer alone.
    c.allReduceSum(grad);
    float[] summed = grad.clone();
    Optimizer.create(OptimizerConfig.defaults("momentum").withLearningRate(0.1), p.length)
        .step(p, grad);
    return new Run(y.data().asFloat(), dx.data().asFloat(), summed, p,
        concat(buffers.get(0).value().toFloatVector(), buffers.get(1).value().toFloatVector()));
  }

  private static Run net(Collective c, Map<String, float[]> state, float[] x, int[] labels,
      int from, int to, int globalBatch, int size, boolean sync) {
    try (PatchNet net = PatchNet.withNewClassifier("small-cnn", state, 3, 17, c)) {
      net.setSyncBackward(sync);
      PatchTrainer trainer = new PatchTrainer(net, c,
          Optimizer.create(OptimizerConfig.defaults("momentum").withLearningRate(0.1),
              net.numParams()));
      PatchTrainer.Pass pass = trainer.backprop(PatchFixtures.batch(x, from, to, size),
          Arrays.copyOfRange(labels, from, to), globalBatch);
      float[] dx = pass.dx().data().asFloat();
      float[] grad = net.gradients();
      c.allReduceSum(grad);
      trainer.apply();
      float[] buffers = net.stateDict().entrySet().stream()
          .filter(e -> e.getKey().contains("running"))
          .map(Map.Entry::getValue).reduce(new float[0], SyncBatchNormTest::concat);
      return new Run(PatchFixtures.flat(pass.logits()), dx, grad, net.parameters(), buffers);
    }
  }

  private static void compare(String what, Run single, List<Run> runs, boolean sync) {
    float[] y = runs.stream().map(Run::y).reduce(new float[0], SyncBatchNormTest::concat);
    float[] dx = runs.stream().map(Run::dx).reduce(new float[0], SyncBatchNormTest::concat);
    double yErr = PatchFixtures.relError(y, single.y);
    double dxErr = PatchFixtures.relError(dx, single.dx);
    double gradErr = 0;
    double paramErr = 0;
    double bufferErr = 0;
    for (Run r : runs) {
      gradErr = Math.max(gradErr, PatchFixtures.relError(r.grad, single.grad));
      paramErr = Math.max(paramErr, PatchFixtures.relError(r.params, single.params));
      bufferErr = Math.max(bufferErr, PatchFixtures.relError(r.buffers, single.buffers));
    }
    System.out.printf("%s: relative errors: outputs %.1e, dx %.1e, gradients %.1e, params %.1e,"
        + " running stats %.1e%n", what, yErr, dxErr, gradErr, paramErr, bufferErr);
    assertTrue(yErr <= TOLERANCE, what + ": outputs differ by " + yErr);
    assertTrue(bufferErr <= TOLERANCE, what + ": running statistics differ by " + bufferErr);
    if (sync) {
      assertTrue(dxErr <= TOLERANCE, what + ": input gradients differ by " + dxErr);
      assertTrue(gradErr <= TOLERANCE, what + ": parameter gradients differ by " + gradErr);
      assertTrue(paramErr <= TOLERANCE, what + ": parameters after the step differ by "
          + paramErr);
    } else {
      assertTrue(dxErr > 1e-2, what + ": input gradients differ by only " + dxErr
          + ", so the test could not tell the correction is missing");
    }
  }

  private static INDArray slice(float[] x, int from, int to) {
    int per = CHANNELS * SIZE * SIZE;
    return Nd4j.create(Arrays.copyOfRange(x, from * per, to * per),
        new long[] {to - from, CHANNELS, SIZE, SIZE}, 'c');
  }

  private static float[] values(int n, long seed, double mean, double std) {
    Random random = new Random(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (mean + std * random.nextGaussian());
    }
    return v;
  }

  private static float[] concat(float[] a, float[] b) {
    float[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
