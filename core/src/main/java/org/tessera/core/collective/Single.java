package org.tessera.core.collective;

/** {@link Collective#single()}: one worker, nothing to exchange. */
enum Single implements Collective {
  INSTANCE;

  @Override
  public int rank() {
    return 0;
  }

  @Override
  public int size() {
    return 1;
  }

  @Override
  public void allReduceSum(float[] data) {
    // The sum over a group of one is the worker's own array.
  }

  @Override
  public void allReduceSum(double[] data) {
    // The sum over a group of one is the worker's own array.
  }

  @Override
  public void close() {
    // Nothing was opened.
  }
}
