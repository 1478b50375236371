package org.tessera.core.optim;

/** Clipping by the global L2 norm over all parameters, as one flat gradient. */
public final class GradientClipping {

  /** torch's guard against dividing by a zero norm, kept so clipped gradients match its. */
  private static final double NORM_EPSILON = 1e-6;

  private GradientClipping() {
  }

  /** The L2 norm of {@code grad}, summed in double. */
  public static double globalNorm(float[] grad) {
    double sum = 0;
    for (float g : grad) {
      sum += (double) g * g;
    }
    return Math.sqrt(sum);
  }

  /**
   * Scales {@code grad} in place by {@code maxNorm / (norm + 1e-6)} when that is below 1, like
   * {@code torch.nn.utils.clip_grad_norm_}. A non-finite norm makes the gradient non-finite, as in
   * torch; the returned norm lets the caller notice.
   *
   * @return the norm before clipping
   */
  public static double clipGlobalNorm(float[] grad, double maxNorm) {
    if (!(maxNorm > 0)) {
      throw new IllegalArgumentException("clipNorm=" + maxNorm + " must be > 0");
    }
    double norm = globalNorm(grad);
    double scale = maxNorm / (norm + NORM_EPSILON);
    if (scale < 1 || Double.isNaN(scale)) {
      for (int i = 0; i < grad.length; i++) {
        grad[i] = (float) (grad[i] * scale);
      }
    }
    return norm;
  }
}
