package org.tessera.core.nn.patch;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A named tensor of a {@link Module}: a trainable parameter with its gradient, or a buffer (batch
 * norm running statistics: saved and loaded, never given to the optimizer). The name is the
 * PyTorch {@code state_dict} key, so weights move between this network, the DL4J encoders and
 * PyTorch by name. {@link PatchNet} rebinds parameters to views of one flat array.
 */
public final class Param {

  private final String name;
  private final long[] shape;
  private INDArray value;
  private INDArray grad;

  Param(String name, INDArray value, INDArray grad) {
    this.name = name;
    this.shape = value.shape();
    this.value = value;
    this.grad = grad;
  }

  public String name() {
    return name;
  }

  public long[] shape() {
    return shape.clone();
  }

  public INDArray value() {
    return value;
  }

  /** Null for buffers. */
  public INDArray grad() {
    return grad;
  }

  int length() {
    return (int) value.length();
  }

  void bind(INDArray value, INDArray grad) {
    this.value = value;
    this.grad = grad;
  }

  @Override
  public String toString() {
    return name + Arrays.toString(shape);
  }
}
