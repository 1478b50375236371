package org.tessera.core.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** A restored optimizer continues bit for bit, and refuses a checkpoint that does not fit. */
class OptimizerCheckpointTest {

  private static final int N = 29;

  private static final List<OptimizerConfig> CONFIGS = List.of(
      OptimizerConfig.defaults("sgd").withWeightDecay(0.01),
      OptimizerConfig.defaults("momentum").withStepSchedule(4, 0.5),
      OptimizerConfig.defaults("nesterov").withClipNorm(0.5),
      OptimizerConfig.defaults("adagrad").withWeightDecay(0.01),
      OptimizerConfig.defaults("rmsprop").withWarmupSteps(3),
      OptimizerConfig.defaults("adam").withWarmupSteps(4).withCosineSchedule(20, 1e-6),
      OptimizerConfig.defaults("adamw").withClipNorm(1.0).withStepSchedule(7, 0.3));

  @Test
  void resumedRunEqualsUninterruptedRunBitwise() {
    for (OptimizerConfig cfg : CONFIGS) {
      float[] straight = start();
      Optimizer uninterrupted = Optimizer.create(cfg, N);
      for (int t = 0; t < 20; t++) {
        uninterrupted.step(straight, gradient(straight, t));
      }

      float[] resumed = start();
      Optimizer first = Optimizer.create(cfg, N);
      for (int t = 0; t < 10; t++) {
        first.step(resumed, gradient(resumed, t));
      }
      Map<String, float[]> saved = first.state();
      long steps = first.steps();
      // The checkpoint must be a copy: the first optimizer running on must not change it.
      first.step(resumed.clone(), gradient(resumed, 99));

      Optimizer second = Optimizer.create(cfg, N);
      second.restore(saved, steps);
      assertEquals(10, second.steps(), cfg.name());
      for (int t = 10; t < 20; t++) {
        second.step(resumed, gradient(resumed, t));
      }
      assertArrayEquals(straight, resumed, cfg.name() + ": resumed parameters differ");
      assertEquals(uninterrupted.steps(), second.steps(), cfg.name());
      Map<String, float[]> a = uninterrupted.state();
      Map<String, float[]> b = second.state();
      assertEquals(a.keySet(), b.keySet(), cfg.name());
      a.forEach((name, values) -> assertArrayEquals(values, b.get(name), cfg.name() + " " + name));
    }
  }

  @Test
  void stateNamesFollowTorch() {
    assertEquals(List.of(), List.copyOf(create("sgd").state().keySet()));
    assertEquals(List.of("momentum_buffer"), List.copyOf(create("nesterov").state().keySet()));
    assertEquals(List.of("sum"), List.copyOf(create("adagrad").state().keySet()));
    assertEquals(List.of("square_avg"), List.copyOf(create("rmsprop").state().keySet()));
    assertEquals(List.of("exp_avg", "exp_avg_sq"), List.copyOf(create("adamw").state().keySet()));
  }

  @Test
  void restoreRefusesForeignCheckpoints() {
    Optimizer adam = create("adam");
    Map<String, float[]> rmsprop = create("rmsprop").state();
    String foreign = assertThrows(IllegalArgumentException.class,
        () -> adam.restore(rmsprop, 3)).getMessage();
    assertTrue(foreign.contains("[square_avg]") && foreign.contains("[exp_avg, exp_avg_sq]"),
        foreign);

    Map<String, float[]> shorter = new HashMap<>(adam.state());
    shorter.put("exp_avg_sq", new float[N - 1]);
    String length = assertThrows(IllegalArgumentException.class,
        () -> adam.restore(shorter, 3)).getMessage();
    assertTrue(length.contains("exp_avg_sq") && length.contains(String.valueOf(N - 1)), length);

    String steps = assertThrows(IllegalArgumentException.class,
        () -> adam.restore(adam.state(), -1)).getMessage();
    assertTrue(steps.startsWith("steps=-1"), steps);
    assertEquals(0, adam.steps(), "a refused restore must leave the optimizer as it was");
  }

  @Test
  void stepRefusesMismatchedLengths() {
    Optimizer sgd = create("sgd");
    String msg = assertThrows(IllegalArgumentException.class,
        () -> sgd.step(new float[N], new float[N + 1])).getMessage();
    assertTrue(msg.contains(N + " parameters got " + N + " parameters and " + (N + 1)), msg);
    String none = assertThrows(IllegalArgumentException.class,
        () -> Optimizer.create(OptimizerConfig.defaults("sgd"), 0)).getMessage();
    assertTrue(none.startsWith("numParams=0"), none);
  }

  private static Optimizer create(String name) {
    return Optimizer.create(OptimizerConfig.defaults(name), N);
  }

  private static float[] start() {
    Random random = new Random(5);
    float[] p = new float[N];
    for (int i = 0; i < N; i++) {
      p[i] = (float) random.nextGaussian();
    }
    return p;
  }

  /** Depends on the parameters, as a real loss's gradient does, and on the step. */
  private static float[] gradient(float[] params, int t) {
    Random random = new Random(1000 + t);
    float[] g = new float[N];
    for (int i = 0; i < N; i++) {
      g[i] = (float) (params[i] * 0.7 + random.nextGaussian());
    }
    return g;
  }
}
