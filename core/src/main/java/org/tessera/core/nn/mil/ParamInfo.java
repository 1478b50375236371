package org.tessera.core.nn.mil;

/** One named tensor of a head's flat parameter vector: row-major, starting at {@code offset}. */
public record ParamInfo(String name, long[] shape, int offset) {

  public ParamInfo {
    shape = shape.clone();
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** Number of values. */
  public int size() {
    long s = 1;
    for (long d : shape) {
      s *= d;
    }
    return Math.toIntExact(s);
  }
}
