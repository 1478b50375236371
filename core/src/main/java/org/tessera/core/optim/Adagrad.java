package org.tessera.core.optim;

/** torch's Adagrad with no learning-rate decay and a zero initial accumulator. */
final class Adagrad extends BufferedOptimizer {

  private final double epsilon;
  private final double weightDecay;
  private final float[] sum;

  Adagrad(OptimizerConfig cfg, int numParams) {
    super(cfg, numParams);
    this.epsilon = cfg.epsilon();
    this.weightDecay = cfg.weightDecay();
    this.sum = buffer("sum");
  }

  @Override
  void update(float[] params, float[] grad, double lr, long step) {
    for (int i = 0; i < params.length; i++) {
      double g = grad[i] + weightDecay * params[i];
      float s = (float) (sum[i] + g * g);
      sum[i] = s;
      params[i] = (float) (params[i] - lr * g / (Math.sqrt(s) + epsilon));
    }
  }
}
