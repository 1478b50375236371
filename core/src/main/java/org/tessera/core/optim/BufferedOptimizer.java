package org.tessera.core.optim;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;

/**
 * What every optimizer shares: argument checks, clipping, the schedule, the step count and named
 * float buffers that checkpoints copy out and back in. Subclasses hold on to their buffer arrays;
 * {@link #restore} copies into those same arrays so the references stay valid.
 */
abstract class BufferedOptimizer implements Optimizer {

  private final OptimizerConfig config;
  private final int numParams;
  private final Map<String, float[]> buffers = new LinkedHashMap<>();
  private long steps;

  BufferedOptimizer(OptimizerConfig config, int numParams) {
    this.config = config;
    this.numParams = numParams;
  }

  /** A zero buffer of one float per parameter, saved and restored under {@code name}. */
  final float[] buffer(String name) {
    float[] b = new float[numParams];
    buffers.put(name, b);
    return b;
  }

  /** One update at learning rate {@code lr}; {@code step} counts from 1, like torch's. */
  abstract void update(float[] params, float[] grad, double lr, long step);

  @Override
  public final double step(float[] params, float[] grad) {
    if (params.length != numParams || grad.length != numParams) {
      throw new IllegalArgumentException(config.name() + " optimizer built for " + numParams
          + " parameters got " + params.length + " parameters and " + grad.length
          + " gradients");
    }
    if (config.clipNorm() > 0) {
      GradientClipping.clipGlobalNorm(grad, config.clipNorm());
    }
    double lr = config.learningRateAt(steps);
    update(params, grad, lr, steps + 1);
    steps++;
    return lr;
  }

  @Override
  public final long steps() {
    return steps;
  }

  @Override
  public final Map<String, float[]> state() {
    Map<String, float[]> copy = new LinkedHashMap<>();
    buffers.forEach((name, b) -> copy.put(name, b.clone()));
    return copy;
  }

  @Override
  public final void restore(Map<String, float[]> state, long steps) {
    if (steps < 0) {
      throw new IllegalArgumentException("steps=" + steps + " in the " + config.name()
          + " checkpoint must be >= 0");
    }
    if (!state.keySet().equals(buffers.keySet())) {
      throw new IllegalArgumentException(config.name() + " checkpoint holds state "
          + new TreeSet<>(state.keySet()) + " but this optimizer needs "
          + new TreeSet<>(buffers.keySet()) + ": it was saved by another optimizer");
    }
    for (Map.Entry<String, float[]> e : state.entrySet()) {
      if (e.getValue().length != numParams) {
        throw new IllegalArgumentException(config.name() + " checkpoint state '" + e.getKey()
            + "' has " + e.getValue().length + " values, the model has " + numParams
            + " parameters: it was saved for another model");
      }
    }
    state.forEach((name, values) -> System.arraycopy(values, 0, buffers.get(name), 0, numParams));
    this.steps = steps;
  }

  @Override
  public final OptimizerConfig config() {
    return config;
  }
}
