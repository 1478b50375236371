package org.tessera.core.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** Defaults, schedules by their formulas, and validation messages that name the key. */
class OptimizerConfigTest {

  @Test
  void defaultsFollowTorchExceptAdamsRate() {
    OptimizerConfig adamw = OptimizerConfig.defaults("adamw");
    assertEquals(1e-4, adamw.learningRate());
    assertEquals(1e-2, adamw.weightDecay());
    assertEquals(0.9, adamw.beta1());
    assertEquals(0.999, adamw.beta2());
    assertEquals(1e-8, adamw.epsilon());
    assertEquals(0, OptimizerConfig.defaults("adam").weightDecay());
    assertEquals(1e-2, OptimizerConfig.defaults("sgd").learningRate());
    assertEquals(0, OptimizerConfig.defaults("sgd").momentum());
    assertEquals(0.9, OptimizerConfig.defaults("nesterov").momentum());
    assertEquals(1e-10, OptimizerConfig.defaults("adagrad").epsilon());
    OptimizerConfig rmsprop = OptimizerConfig.defaults("rmsprop");
    assertEquals(1e-8, rmsprop.epsilon());
    assertEquals(0.99, rmsprop.alpha());
    assertEquals("constant", rmsprop.schedule());
    assertEquals(0, rmsprop.clipNorm());
  }

  @Test
  void schedulesFollowTheirFormulas() {
    OptimizerConfig step = OptimizerConfig.defaults("sgd").withStepSchedule(3, 0.5);
    assertEquals(0.01, step.learningRateAt(2), 1e-15);
    assertEquals(0.005, step.learningRateAt(3), 1e-15);
    assertEquals(0.0025, step.learningRateAt(8), 1e-15);

    OptimizerConfig warm = step.withWarmupSteps(4);
    assertEquals(0.01 / 5, warm.learningRateAt(0), 1e-15);
    assertEquals(0.01 * 4 / 5, warm.learningRateAt(3), 1e-15);
    assertEquals(0.01, warm.learningRateAt(4), 1e-15);
    assertEquals(0.005, warm.learningRateAt(7), 1e-15);

    OptimizerConfig cosine = OptimizerConfig.defaults("adam").withLearningRate(1.0)
        .withWarmupSteps(2).withCosineSchedule(12, 0.1);
    assertEquals(1.0, cosine.learningRateAt(2), 1e-15);
    assertEquals(0.55, cosine.learningRateAt(7), 1e-15);
    assertEquals(0.1, cosine.learningRateAt(12), 1e-15);
    assertEquals(0.1, cosine.learningRateAt(1000), "cosine stays at its minimum after the run");
  }

  @Test
  void invalidValuesNameTheKey() {
    OptimizerConfig sgd = OptimizerConfig.defaults("sgd");
    rejects(() -> OptimizerConfig.defaults("lamb"), "optimizer name 'lamb'", "adamw");
    rejects(() -> sgd.withLearningRate(-1), "learningRate=-1.0", "> 0");
    rejects(() -> sgd.withLearningRate(Double.NaN), "learningRate=NaN", "> 0");
    rejects(() -> sgd.withMomentum(0.9), "momentum=0.9", "nesterov");
    rejects(() -> OptimizerConfig.defaults("nesterov").withMomentum(1.0), "momentum=1.0", "[0, 1)");
    rejects(() -> OptimizerConfig.defaults("momentum").withMomentum(0), "momentum=0", "sgd");
    rejects(() -> sgd.withBetas(0.9, 1.5), "beta2=1.5", "[0, 1)");
    rejects(() -> sgd.withEpsilon(0), "epsilon=0.0", "> 0");
    rejects(() -> sgd.withWeightDecay(-0.1), "weightDecay=-0.1", ">= 0");
    rejects(() -> sgd.withAlpha(1), "alpha=1.0", "[0, 1)");
    rejects(() -> sgd.withClipNorm(-1), "clipNorm=-1.0", ">= 0");
    rejects(() -> sgd.withWarmupSteps(-2), "warmupSteps=-2", ">= 0");
    rejects(() -> sgd.withStepSchedule(0, 0.5), "stepSize=0", "stepSize > 0");
    rejects(() -> sgd.withStepSchedule(5, 0), "gamma=0.0", "> 0");
    rejects(() -> sgd.withWarmupSteps(10).withCosineSchedule(10, 0), "totalSteps=10",
        "warmupSteps=10");
    rejects(() -> sgd.withCosineSchedule(10, 0.5), "minLearningRate=0.5", "learningRate=0.01");
    rejects(() -> new OptimizerConfig("sgd", 0.1, 0, 0.9, 0.999, 1e-8, 0, "linear", 0, 0, 0.1, 0,
        0, 0, 0.99), "schedule 'linear'", "cosine");
  }

  private static void rejects(Supplier<OptimizerConfig> build, String key, String fix) {
    String msg = assertThrows(IllegalArgumentException.class, build::get).getMessage();
    assertTrue(msg.contains(key) && msg.contains(fix), msg);
    assertTrue(msg.lines().count() == 1, "one line: " + msg);
  }
}
