package org.tessera.core.optim;

import java.util.Map;

/**
 * Updates one flat parameter vector from one flat, batch-averaged gradient, with PyTorch 1.13's
 * {@code torch.optim} semantics. It lives on the Spark driver; {@link #state()} and
 * {@link #steps()} are everything a checkpoint needs to resume bit for bit.
 *
 * <p>Arithmetic is in double per element; moment buffers are stored in float, like torch's, and
 * the stored (rounded) values are the ones used, so a restored optimizer continues exactly.
 */
public interface Optimizer {

  static Optimizer create(OptimizerConfig cfg, int numParams) {
    if (numParams <= 0) {
      throw new IllegalArgumentException("numParams=" + numParams + " must be > 0");
    }
    return switch (cfg.name()) {
      case "sgd", "momentum", "nesterov" -> new Sgd(cfg, numParams);
      case "adagrad" -> new Adagrad(cfg, numParams);
      case "rmsprop" -> new RmsProp(cfg, numParams);
      case "adam", "adamw" -> new Adam(cfg, numParams);
      default -> throw new IllegalStateException("optimizer " + cfg.name() + " has no update");
    };
  }

  /**
   * Clips {@code grad} to the global L2 norm {@code clipNorm} (when it is > 0, as
   * {@code torch.nn.utils.clip_grad_norm_} does), applies weight decay (coupled L2 for all but
   * {@code adamw}, decoupled for {@code adamw}), updates {@code params} in place and advances the
   * step. {@code grad} may be modified.
   *
   * @return the learning rate used
   */
  double step(float[] params, float[] grad);

  /** Steps taken. */
  long steps();

  /** Copies of the named moment buffers (torch's names: {@code exp_avg}, {@code sum}, ...). */
  Map<String, float[]> state();

  /**
   * Continues from a checkpoint: {@code state} as {@link #state()} returned it, {@code steps} as
   * {@link #steps()} did. The arrays are copied.
   */
  void restore(Map<String, float[]> state, long steps);

  OptimizerConfig config();
}
