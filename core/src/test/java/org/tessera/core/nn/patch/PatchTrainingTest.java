package org.tessera.core.nn.patch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.tessera.core.collective.Collective;
import org.tessera.core.optim.Optimizer;
import org.tessera.core.optim.OptimizerConfig;

/** Data-parallel training reproduces one-worker training, and the network learns a patch task. */
class PatchTrainingTest {

  @ParameterizedTest
  @ValueSource(strings = {"momentum", "adam"})
  void twoWorkersTrainLikeOne(String optimizer) throws Exception {
    int size = 16;
    int globalBatch = 8;
    int steps = 5;
    float[] x = PatchFixtures.tiles(globalBatch * steps, size, 21);
    int[] labels = PatchFixtures.labels(globalBatch * steps, 2, 22);
    Map<String, float[]> state = PatchFixtures.smallCnnState(size, 23);
    // Adam divides each gradient by its own scale, so a coordinate whose gradient is ~0 moves by
    // up to lr on float rounding alone (summation order differs between K=1 and K=2): at lr 1e-3
    // that is 4e-5 after 5 steps, at the M-step's usual 1e-4 it stays below the tolerance.
    OptimizerConfig cfg = OptimizerConfig.defaults(optimizer).withLearningRate(
        optimizer.equals("adam") ? 1e-4 : 0.05);
    float[] one = train(Collective.single(), state, x, labels, cfg, steps, globalBatch, size);
    List<float[]> two = Workers.run(2, c ->
        train(c, state, x, labels, cfg, steps, globalBatch, size));
    assertArrayEquals(two.get(0), two.get(1), "ranks must hold bit-identical weights");
    double diff = 0;
    double moved = 0;
    float[] start;
    try (PatchNet net = PatchNet.withNewClassifier("small-cnn", state, 2, 1, Collective.single())) {
      start = net.parameters();
    }
    for (int i = 0; i < one.length; i++) {
      diff = Math.max(diff, Math.abs(one[i] - two.get(0)[i]));
      moved = Math.max(moved, Math.abs(one[i] - start[i]));
    }
    System.out.printf("%s: %d steps, K=1 vs K=2 max |weight diff| %.2e (weights moved up to %.3g)%n",
        optimizer, steps, diff, moved);
    assertTrue(moved > 2e-4, "training did not change the weights");
    assertTrue(diff <= 1e-5, optimizer + ": K=1 and K=2 weights differ by " + diff);
  }

  private static float[] train(Collective c, Map<String, float[]> state, float[] x, int[] labels,
      OptimizerConfig cfg, int steps, int globalBatch, int size) {
    try (PatchNet net = PatchNet.withNewClassifier("small-cnn", state, 2, 1, c)) {
      PatchTrainer trainer = new PatchTrainer(net, c, Optimizer.create(cfg, net.numParams()));
      int local = globalBatch / c.size();
      for (int s = 0; s < steps; s++) {
        int from = s * globalBatch + c.rank() * local;
        INDArray batch = PatchFixtures.batch(x, from, from + local, size);
        trainer.step(batch, Arrays.copyOfRange(labels, from, from + local), globalBatch);
        batch.close();
      }
      return net.parameters();
    }
  }

  /**
   * Tiles with a small checkerboard blob (class 1) or without (class 0), augmented, normalised:
   * two workers reach held-out accuracy of at least 0.9.
   */
  @Test
  void learnsTexturedBlobs() throws Exception {
    int size = 32;
    int n = 64;
    float[][] train = toyTiles(n, size, 31);
    float[][] test = toyTiles(n, size, 32);
    int[] trainLabels = toyLabels(n);
    long start = System.nanoTime();
    List<Double> accuracy = Workers.run(2, c -> {
      try (PatchNet net = PatchNet.withNewClassifier("small-cnn",
          org.tessera.core.nn.StateDicts.initial("small-cnn", size, 7), 2, 8, c)) {
        PatchTrainer trainer = new PatchTrainer(net, c, Optimizer.create(
            OptimizerConfig.defaults("adam").withLearningRate(3e-3), net.numParams()));
        int batch = 8;
        for (int epoch = 0; epoch < 5; epoch++) {
          for (int b = c.rank() * batch; b < n; b += 2 * batch) {
            float[][] tiles = new float[batch][];
            for (int i = 0; i < batch; i++) {
              tiles[i] = TileAugment.apply(train[b + i], size, 5, epoch, b + i);
            }
            INDArray x = normalised(tiles, size);
            trainer.step(x, Arrays.copyOfRange(trainLabels, b, b + batch), 2 * batch);
            x.close();
          }
        }
        int half = n / 2;
        int from = c.rank() * half;
        INDArray x = normalised(Arrays.copyOfRange(test, from, from + half), size);
        PatchTrainer.Evaluation e = trainer.evaluate(x, Arrays.copyOfRange(toyLabels(n), from,
            from + half));
        x.close();
        assertTrue(e.probabilities().length == half && e.count() == n);
        return e.accuracy();
      }
    });
    double seconds = (System.nanoTime() - start) / 1e9;
    System.out.printf("toy blobs: held-out accuracy %.3f after 5 epochs in %.1f s%n",
        accuracy.get(0), seconds);
    assertTrue(accuracy.get(0).equals(accuracy.get(1)), "ranks disagree on the global accuracy");
    assertTrue(accuracy.get(0) >= 0.9, "held-out accuracy " + accuracy.get(0));
  }

  private static int[] toyLabels(int n) {
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      y[i] = i % 2;
    }
    return y;
  }

  /** RGB in [0, 1]: pinkish noise, odd tiles with an 8x8 checkerboard of 2-pixel squares. */
  private static float[][] toyTiles(int n, int size, long seed) {
    Random random = new Random(seed);
    float[][] tiles = new float[n][3 * size * size];
    int plane = size * size;
    for (int t = 0; t < n; t++) {
      for (int p = 0; p < plane; p++) {
        double base = 0.6 + 0.08 * random.nextGaussian();
        tiles[t][p] = (float) (base + 0.2);
        tiles[t][plane + p] = (float) (base - 0.1);
        tiles[t][2 * plane + p] = (float) (base + 0.1);
      }
      if (t % 2 == 1) {
        int oy = random.nextInt(size - 8);
        int ox = random.nextInt(size - 8);
        for (int y = 0; y < 8; y++) {
          for (int x = 0; x < 8; x++) {
            double shift = ((y / 2 + x / 2) % 2 == 0 ? -0.25 : 0.15);
            for (int c = 0; c < 3; c++) {
              int i = c * plane + (oy + y) * size + ox + x;
              tiles[t][i] = (float) Math.min(1, Math.max(0, tiles[t][i] + shift));
            }
          }
        }
      }
    }
    return tiles;
  }

  private static INDArray normalised(float[][] tiles, int size) {
    int per = 3 * size * size;
    float[] x = new float[tiles.length * per];
    for (int t = 0; t < tiles.length; t++) {
      for (int i = 0; i < per; i++) {
        x[t * per + i] = (tiles[t][i] - 0.5f) / 0.25f;
      }
    }
    return Nd4j.create(x, new long[] {tiles.length, 3, size, size}, 'c');
  }
}
