package org.tessera.core.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tessera.core.PythonReference;

/**
 * Every optimizer, schedule and clipping against torch.optim 1.13 itself: the same starting
 * parameters and 20 gradients (written here, read by Python) must give the same parameters after
 * every step and the same learning rates. Needs Debian's torch; fails rather than skips without
 * it, so a missing reference is never mistaken for a pass.
 */
class OptimizerGoldenTest {

  private static final String INSTALL = "apt-get install -y python3-torch python3-numpy";
  private static final int N = 37;
  private static final int STEPS = 20;
  /**
   * torch rounds to float after every tensor operation, we once per stored value; over 20 steps
   * that leaves a few float ulps (about 1e-7 near 1) between the two. AdamW comes closest to the
   * bound (5e-7): torch's float AdamW is itself that far from torch run in double.
   */
  private static final double TOLERANCE = 1e-6;

  private static final Map<String, OptimizerConfig> CASES = new LinkedHashMap<>();
  private static float[] start;
  private static float[][] grads;
  private static Path dir;

  static {
    for (String name : OptimizerConfig.NAMES) {
      OptimizerConfig base = OptimizerConfig.defaults(name);
      if (name.startsWith("adam")) {
        // At 1e-4 the moments barely move the weights; 1e-2 exercises them.
        base = base.withLearningRate(1e-2);
      }
      CASES.put(name, base);
      CASES.put(name + "-wd", base.withWeightDecay(0.1));
    }
    CASES.put("adamw-wd0", OptimizerConfig.defaults("adamw").withLearningRate(1e-2)
        .withWeightDecay(0));
    CASES.put("rmsprop-alpha", OptimizerConfig.defaults("rmsprop").withAlpha(0.9)
        .withEpsilon(1e-6));
    CASES.put("adam-betas", OptimizerConfig.defaults("adam").withLearningRate(3e-3)
        .withBetas(0.8, 0.95).withEpsilon(1e-6));
    CASES.put("momentum-step", OptimizerConfig.defaults("momentum").withStepSchedule(5, 0.5));
    CASES.put("momentum-warmup-step", OptimizerConfig.defaults("momentum").withWarmupSteps(3)
        .withStepSchedule(4, 0.3));
    CASES.put("adam-cosine", OptimizerConfig.defaults("adam").withLearningRate(1e-2)
        .withCosineSchedule(STEPS, 1e-4));
    CASES.put("adamw-warmup-cosine", OptimizerConfig.defaults("adamw").withLearningRate(1e-2)
        .withWarmupSteps(5).withCosineSchedule(STEPS, 1e-3));
    CASES.put("sgd-warmup-constant", OptimizerConfig.defaults("sgd").withWarmupSteps(6));
    CASES.put("sgd-clip", OptimizerConfig.defaults("sgd").withClipNorm(1.0));
    CASES.put("nesterov-wd-clip", OptimizerConfig.defaults("nesterov").withWeightDecay(0.1)
        .withClipNorm(2.5));
    CASES.put("adam-clip", OptimizerConfig.defaults("adam").withLearningRate(1e-2)
        .withClipNorm(0.5));
    // A threshold above every gradient's norm: clipping must leave them alone.
    CASES.put("rmsprop-clip-idle", OptimizerConfig.defaults("rmsprop").withClipNorm(1e3));
  }

  @BeforeAll
  static void runTorch(@TempDir Path tmp) throws Exception {
    PythonReference.require("torch, numpy", INSTALL);
    dir = tmp;
    Random random = new Random(20240611L);
    start = new float[N];
    for (int i = 0; i < N; i++) {
      start[i] = (float) random.nextGaussian();
    }
    grads = new float[STEPS][N];
    ByteBuffer inputs = ByteBuffer.allocate(4 * N * (STEPS + 1)).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : start) {
      inputs.putFloat(v);
    }
    for (int t = 0; t < STEPS; t++) {
      // Growing scales so clipping starts idle and then bites; some exact zeros, the case where
      // adaptive optimizers lean on epsilon.
      double scale = 0.05 + 0.1 * t;
      for (int i = 0; i < N; i++) {
        grads[t][i] = (i % 7 == t % 7) ? 0f : (float) (scale * random.nextGaussian());
        inputs.putFloat(grads[t][i]);
      }
    }
    Files.write(dir.resolve("inputs.bin"), inputs.array());

    ObjectMapper json = new ObjectMapper();
    List<Map<String, Object>> cases = new ArrayList<>();
    CASES.forEach((id, cfg) -> {
      @SuppressWarnings("unchecked")
      Map<String, Object> c = new LinkedHashMap<>(json.convertValue(cfg, Map.class));
      c.put("id", id);
      cases.add(c);
    });
    json.writeValue(dir.resolve("cases.json").toFile(),
        Map.of("n", N, "steps", STEPS, "cases", cases));

    Path script = Path.of(OptimizerGoldenTest.class.getResource("torch_optim_golden.py").toURI());
    PythonReference.run(script, 120, dir.toString());
  }

  @Test
  void trajectoriesAndLearningRatesEqualTorch() throws IOException {
    List<String> report = new ArrayList<>();
    double worst = 0;
    for (Map.Entry<String, OptimizerConfig> e : CASES.entrySet()) {
      String id = e.getKey();
      ByteBuffer expected = read(id + ".params.bin");
      ByteBuffer expectedLr = read(id + ".lrs.bin");
      Optimizer opt = Optimizer.create(e.getValue(), N);
      float[] params = start.clone();
      double maxDiff = 0;
      for (int t = 0; t < STEPS; t++) {
        double lr = opt.step(params, grads[t].clone());
        double torchLr = expectedLr.getDouble();
        assertEquals(torchLr, lr, 1e-12 * torchLr, id + ": learning rate of step " + t);
        for (int i = 0; i < N; i++) {
          double want = expected.getFloat();
          double diff = Math.abs(params[i] - want) / Math.max(1, Math.abs(want));
          maxDiff = Math.max(maxDiff, diff);
          if (!(diff <= TOLERANCE)) {
            fail(id + ": parameter " + i + " after step " + (t + 1) + " is " + params[i]
                + ", torch has " + want);
          }
        }
      }
      double moved = 0;
      for (int i = 0; i < N; i++) {
        moved = Math.max(moved, Math.abs(params[i] - start[i]));
      }
      assertTrue(moved > 1e-2, id + ": the parameters moved at most " + moved);
      worst = Math.max(worst, maxDiff);
      report.add(String.format("%s %.2g", id, maxDiff));
    }
    System.out.printf("torch.optim trajectories, max |diff| / max(1, |p|) per case (%d steps):"
        + " %s; worst %.2g%n", STEPS, String.join(", ", report), worst);
  }

  private static ByteBuffer read(String name) throws IOException {
    return ByteBuffer.wrap(Files.readAllBytes(dir.resolve(name))).order(ByteOrder.LITTLE_ENDIAN);
  }
}
