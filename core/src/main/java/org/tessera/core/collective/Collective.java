package org.tessera.core.collective;

/**
 * A fixed group of {@link #size()} workers that sum arrays together, each worker holding one
 * instance with its own {@link #rank()}. Every worker calls the same sequence of operations with
 * arrays of the same length; each call returns when the sum over all workers is in the caller's
 * array.
 *
 * <p>Results are bit-identical on every rank (the same additions in the same order), so workers
 * that apply the same optimizer to an all-reduced gradient keep bit-identical weights without
 * ever exchanging them.
 *
 * <p>Used inside a forward/backward pass (synchronized BatchNorm needs two reductions per layer)
 * as well as for whole gradients, so implementations must not funnel tensors through a
 * coordinator and must fail, not hang, when a peer is gone.
 */
public interface Collective extends AutoCloseable {

  /** This worker's index, 0 .. size-1. */
  int rank();

  /** Number of workers in the group. */
  int size();

  /** Replaces {@code data} with the element-wise sum of every worker's {@code data}. */
  void allReduceSum(float[] data);

  /** Replaces {@code data} with the element-wise sum of every worker's {@code data}. */
  void allReduceSum(double[] data);

  /** The group of one: sums are the caller's own values. */
  static Collective single() {
    return Single.INSTANCE;
  }

  @Override
  void close();
}
