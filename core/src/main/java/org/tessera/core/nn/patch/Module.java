package org.tessera.core.nn.patch;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One differentiable piece of a {@link PatchNet}. A module caches what its backward pass needs
 * during {@link #forward}, so every {@link #backward} must follow the forward it differentiates.
 *
 * <p>Memory: a module never closes the arrays it is given or returns (only {@link ReLU} writes
 * into them, in place); containers ({@link Sequential}, {@link Residual}) release the
 * intermediate activations they own at the next forward and intermediate gradients as soon as
 * they are consumed, to {@link Activations} for reuse by the next step, so a training step
 * neither allocates fresh native memory nor leaves it to the garbage collector.
 */
public interface Module {

  /**
   * The output for float NCHW (or [N, D] for {@link Linear}) input; {@code training} selects
   * batch statistics (and their synchronisation) over running statistics in batch norms.
   */
  INDArray forward(INDArray x, boolean training);

  /**
   * The gradient with respect to the last forward's input, given the gradient {@code dy} of its
   * output; parameter gradients are added to their {@link Param#grad()}.
   */
  INDArray backward(INDArray dy);

  /** Appends trainable parameters, then running-statistics buffers, in a fixed order. */
  default void collect(List<Param> params, List<Param> buffers) {}

  /** Closes what the last forward cached; the module stays usable. */
  default void release() {}
}
