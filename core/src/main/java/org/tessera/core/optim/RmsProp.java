package org.tessera.core.optim;

/** torch's RMSprop, neither centered nor with momentum. */
final class RmsProp extends BufferedOptimizer {

  private final double alpha;
  private final double epsilon;
  private final double weightDecay;
  private final float[] squareAvg;

  RmsProp(OptimizerConfig cfg, int numParams) {
    super(cfg, numParams);
    this.alpha = cfg.alpha();
    this.epsilon = cfg.epsilon();
    this.weightDecay = cfg.weightDecay();
    this.squareAvg = buffer("square_avg");
  }

  @Override
  void update(float[] params, float[] grad, double lr, long step) {
    for (int i = 0; i < params.length; i++) {
      double g = grad[i] + weightDecay * params[i];
      float v = (float) (alpha * squareAvg[i] + (1 - alpha) * g * g);
      squareAvg[i] = v;
      params[i] = (float) (params[i] - lr * g / (Math.sqrt(v) + epsilon));
    }
  }
}
