package org.tessera.core.optim;

/**
 * torch's SGD with dampening 0: plain ({@code sgd}), heavy-ball ({@code momentum}) or Nesterov
 * ({@code nesterov}). torch starts the momentum buffer at the first gradient; a zero buffer gives
 * the same value ({@code m * 0 + g = g}), so the first step needs no special case.
 */
final class Sgd extends BufferedOptimizer {

  private final double momentum;
  private final double weightDecay;
  private final boolean nesterov;
  private final float[] velocity;

  Sgd(OptimizerConfig cfg, int numParams) {
    super(cfg, numParams);
    this.momentum = cfg.momentum();
    this.weightDecay = cfg.weightDecay();
    this.nesterov = cfg.name().equals("nesterov");
    this.velocity = momentum > 0 ? buffer("momentum_buffer") : null;
  }

  @Override
  void update(float[] params, float[] grad, double lr, long step) {
    for (int i = 0; i < params.length; i++) {
      double d = grad[i] + weightDecay * params[i];
      if (velocity != null) {
        float v = (float) (momentum * velocity[i] + d);
        velocity[i] = v;
        d = nesterov ? d + momentum * v : v;
      }
      params[i] = (float) (params[i] - lr * d);
    }
  }
}
