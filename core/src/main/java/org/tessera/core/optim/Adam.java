package org.tessera.core.optim;

/**
 * torch's Adam and AdamW (no amsgrad). Adam adds the weight decay to the gradient, so it is
 * rescaled by the moments like the loss; AdamW shrinks the weights by {@code 1 - lr * wd} before
 * the Adam update, independent of the gradient's scale.
 */
final class Adam extends BufferedOptimizer {

  private final double beta1;
  private final double beta2;
  private final double epsilon;
  private final double weightDecay;
  private final boolean decoupled;
  private final float[] expAvg;
  private final float[] expAvgSq;

  Adam(OptimizerConfig cfg, int numParams) {
    super(cfg, numParams);
    this.beta1 = cfg.beta1();
    this.beta2 = cfg.beta2();
    this.epsilon = cfg.epsilon();
    this.weightDecay = cfg.weightDecay();
    this.decoupled = cfg.name().equals("adamw");
    this.expAvg = buffer("exp_avg");
    this.expAvgSq = buffer("exp_avg_sq");
  }

  @Override
  void update(float[] params, float[] grad, double lr, long step) {
    double stepSize = lr / (1 - Math.pow(beta1, step));
    double correction2 = Math.sqrt(1 - Math.pow(beta2, step));
    double coupled = decoupled ? 0 : weightDecay;
    double shrink = decoupled ? 1 - lr * weightDecay : 1;
    for (int i = 0; i < params.length; i++) {
      double p = params[i] * shrink;
      double g = grad[i] + coupled * params[i];
      float m = (float) (beta1 * expAvg[i] + (1 - beta1) * g);
      float v = (float) (beta2 * expAvgSq[i] + (1 - beta2) * g * g);
      expAvg[i] = m;
      expAvgSq[i] = v;
      params[i] = (float) (p - stepSize * m / (Math.sqrt(v) / correction2 + epsilon));
    }
  }
}
