package org.tessera.core.optim;

import java.io.Serializable;
import java.util.List;
import java.util.Objects;

/**
 * An optimizer, its learning-rate schedule and gradient clipping, as one immutable value that a
 * training run records beside its checkpoints. Fields an optimizer does not use are ignored,
 * except that plain {@code sgd} refuses a momentum, which would otherwise silently do nothing.
 *
 * <p>Learning rate at step {@code t} (the number of steps already taken), with warm-up {@code W}:
 * for {@code t < W} it is {@code lr * (t + 1) / (W + 1)}, torch's
 * {@code LinearLR(start_factor=1/(W+1), total_iters=W)}; the ramp never takes a zero step and
 * reaches {@code lr} exactly where the main schedule starts. From {@code t = W} the main schedule
 * runs on {@code u = t - W}, as torch's {@code SequentialLR(milestones=[W])} restarts it:
 * <ul>
 *   <li>{@code constant}: {@code lr};
 *   <li>{@code step}: {@code lr * gamma^floor(u / stepSize)} ({@code StepLR});
 *   <li>{@code cosine}: {@code min + (lr - min) * (1 + cos(pi * u / (totalSteps - W))) / 2}
 *       ({@code CosineAnnealingLR(T_max=totalSteps-W, eta_min=min)}), then {@code min} once
 *       {@code totalSteps} are done, where torch's cosine would climb back up.
 * </ul>
 *
 * @param name            {@code sgd}, {@code momentum}, {@code nesterov}, {@code adagrad},
 *                        {@code rmsprop}, {@code adam} or {@code adamw}
 * @param learningRate    peak learning rate
 * @param momentum        momentum of {@code momentum} and {@code nesterov} (dampening 0)
 * @param beta1           Adam's first-moment decay
 * @param beta2           Adam's second-moment decay
 * @param epsilon         added to the denominator of adaptive optimizers, outside the square root
 * @param weightDecay     L2 penalty added to the gradient; decoupled (applied to the weights
 *                        directly) for {@code adamw}
 * @param schedule        {@code constant}, {@code step} or {@code cosine}
 * @param warmupSteps     steps of linear warm-up before the schedule; 0 for none
 * @param stepSize        steps between decays of the {@code step} schedule
 * @param gamma           decay factor of the {@code step} schedule
 * @param totalSteps      steps, warm-up included, over which {@code cosine} decays
 * @param minLearningRate where {@code cosine} ends
 * @param clipNorm        largest global L2 norm of the gradient; 0 for no clipping
 * @param alpha           RMSprop's decay of the squared-gradient average
 */
public record OptimizerConfig(String name, double learningRate, double momentum, double beta1,
    double beta2, double epsilon, double weightDecay, String schedule, long warmupSteps,
    long stepSize, double gamma, long totalSteps, double minLearningRate, double clipNorm,
    double alpha) implements Serializable {

  public static final List<String> NAMES =
      List.of("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw");
  public static final List<String> SCHEDULES = List.of("constant", "step", "cosine");

  public OptimizerConfig {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(schedule, "schedule");
    if (!NAMES.contains(name)) {
      throw new IllegalArgumentException("optimizer name '" + name + "' is unknown: use one of "
          + String.join(", ", NAMES));
    }
    positive("learningRate", learningRate);
    unitInterval("momentum", momentum);
    if (name.equals("sgd") && momentum != 0) {
      throw new IllegalArgumentException("momentum=" + momentum + " is not used by sgd: set it to"
          + " 0, or use name momentum or nesterov");
    }
    if ((name.equals("momentum") || name.equals("nesterov")) && momentum == 0) {
      throw new IllegalArgumentException("momentum=0 makes " + name + " plain sgd: set momentum in"
          + " (0, 1), or use name sgd");
    }
    unitInterval("beta1", beta1);
    unitInterval("beta2", beta2);
    unitInterval("alpha", alpha);
    // torch allows 0, but then a parameter whose gradient is exactly 0 gets 0/0 = NaN.
    positive("epsilon", epsilon);
    nonNegative("weightDecay", weightDecay);
    nonNegative("clipNorm", clipNorm);
    if (!SCHEDULES.contains(schedule)) {
      throw new IllegalArgumentException("schedule '" + schedule + "' is unknown: use one of "
          + String.join(", ", SCHEDULES));
    }
    nonNegative("warmupSteps", warmupSteps);
    nonNegative("stepSize", stepSize);
    nonNegative("totalSteps", totalSteps);
    positive("gamma", gamma);
    nonNegative("minLearningRate", minLearningRate);
    if (schedule.equals("step") && stepSize == 0) {
      throw new IllegalArgumentException("stepSize=0 with schedule=step: set stepSize > 0");
    }
    if (schedule.equals("cosine")) {
      if (totalSteps <= warmupSteps) {
        throw new IllegalArgumentException("totalSteps=" + totalSteps + " with schedule=cosine"
            + " must exceed warmupSteps=" + warmupSteps + ": set the run's total step count");
      }
      if (minLearningRate > learningRate) {
        throw new IllegalArgumentException("minLearningRate=" + minLearningRate + " exceeds"
            + " learningRate=" + learningRate + ": cosine decays from learningRate to it");
      }
    }
  }

  /**
   * PyTorch's defaults for the optimizer, except {@code adam}/{@code adamw} at lr 1e-4 (torch:
   * 1e-3), the usual rate for attention MIL heads; constant schedule, no clipping.
   */
  public static OptimizerConfig defaults(String name) {
    boolean adam = "adam".equals(name) || "adamw".equals(name);
    boolean momentum = "momentum".equals(name) || "nesterov".equals(name);
    return new OptimizerConfig(name, adam ? 1e-4 : 1e-2, momentum ? 0.9 : 0, 0.9, 0.999,
        "adagrad".equals(name) ? 1e-10 : 1e-8, "adamw".equals(name) ? 1e-2 : 0, "constant", 0, 0,
        0.1, 0, 0, 0, 0.99);
  }

  /** The learning rate of the step taken after {@code step} steps; see the class comment. */
  public double learningRateAt(long step) {
    if (step < 0) {
      throw new IllegalArgumentException("step must be >= 0, got " + step);
    }
    if (step < warmupSteps) {
      return learningRate * (step + 1) / (warmupSteps + 1);
    }
    long u = step - warmupSteps;
    switch (schedule) {
      case "step":
        return learningRate * Math.pow(gamma, u / stepSize);
      case "cosine":
        long span = totalSteps - warmupSteps;
        if (u >= span) {
          return minLearningRate;
        }
        return minLearningRate
            + (learningRate - minLearningRate) * (1 + Math.cos(Math.PI * u / span)) / 2;
      default:
        return learningRate;
    }
  }

  public OptimizerConfig withLearningRate(double v) {
    return new OptimizerConfig(name, v, momentum, beta1, beta2, epsilon, weightDecay, schedule,
        warmupSteps, stepSize, gamma, totalSteps, minLearningRate, clipNorm, alpha);
  }

  public OptimizerConfig withMomentum(double v) {
    return new OptimizerConfig(name, learningRate, v, beta1, beta2, epsilon, weightDecay, schedule,
        warmupSteps, stepSize, gamma, totalSteps, minLearningRate, clipNorm, alpha);
  }

  public OptimizerConfig withBetas(double b1, double b2) {
    return new OptimizerConfig(name, learningRate, momentum, b1, b2, epsilon, weightDecay,
        schedule, warmupSteps, stepSize, gamma, totalSteps, minLearningRate, clipNorm, alpha);
  }

  public OptimizerConfig withEpsilon(double v) {
    return new OptimizerConfig(name, learningRate, momentum, beta1, beta2, v, weightDecay,
        schedule, warmupSteps, stepSize, gamma, totalSteps, minLearningRate, clipNorm, alpha);
  }

  public OptimizerConfig withWeightDecay(double v) {
    return new OptimizerConfig(name, learningRate, momentum, beta1, beta2, epsilon, v, schedule,
        warmupSteps, stepSize, gamma, totalSteps, minLearningRate, clipNorm, alpha);
  }

  public OptimizerConfig withAlpha(double v) {
    return new OptimizerConfig(name, learningRate, momentum, beta1, beta2, epsilon, weightDecay,
        schedule, warmupSteps, stepSize, gamma, totalSteps, minLearningRate, clipNorm, v);
  }

  public OptimizerConfig withClipNorm(double v) {
    return new OptimizerConfig(name, learningRate, momentum, beta1, beta2, epsilon, weightDecay,
        schedule, warmupSteps, stepSize, gamma, totalSteps, minLearningRate, v, alpha);
  }

  public OptimizerConfig withWarmupSteps(long v) {
    return new OptimizerConfig(name, learningRate, momentum, beta1, beta2, epsilon, weightDecay,
        schedule, v, stepSize, gamma, totalSteps, minLearningRate, clipNorm, alpha);
  }

  /** The constant schedule (warm-up kept). */
  public OptimizerConfig withConstantSchedule() {
    return new OptimizerConfig(name, learningRate, momentum, beta1, beta2, epsilon, weightDecay,
        "constant", warmupSteps, stepSize, gamma, totalSteps, minLearningRate, clipNorm, alpha);
  }

  /** The step schedule: {@code lr * gamma} every {@code size} steps (warm-up kept). */
  public OptimizerConfig withStepSchedule(long size, double factor) {
    return new OptimizerConfig(name, learningRate, momentum, beta1, beta2, epsilon, weightDecay,
        "step", warmupSteps, size, factor, totalSteps, minLearningRate, clipNorm, alpha);
  }

  /** Cosine decay to {@code min} at step {@code total}, warm-up included (warm-up kept). */
  public OptimizerConfig withCosineSchedule(long total, double min) {
    return new OptimizerConfig(name, learningRate, momentum, beta1, beta2, epsilon, weightDecay,
        "cosine", warmupSteps, stepSize, gamma, total, min, clipNorm, alpha);
  }

  private static void positive(String key, double v) {
    if (!(v > 0) || !Double.isFinite(v)) {
      throw new IllegalArgumentException(key + "=" + v + " must be a finite number > 0");
    }
  }

  private static void nonNegative(String key, double v) {
    if (!(v >= 0) || !Double.isFinite(v)) {
      throw new IllegalArgumentException(key + "=" + v + " must be a finite number >= 0");
    }
  }

  private static void nonNegative(String key, long v) {
    if (v < 0) {
      throw new IllegalArgumentException(key + "=" + v + " must be >= 0");
    }
  }

  private static void unitInterval(String key, double v) {
    if (!(v >= 0 && v < 1)) {
      throw new IllegalArgumentException(key + "=" + v + " must be in [0, 1)");
    }
  }
}
