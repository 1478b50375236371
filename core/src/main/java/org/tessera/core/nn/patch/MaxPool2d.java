package org.tessera.core.nn.patch;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * PyTorch's {@code MaxPool2d(kernel, stride, padding)} (padding never wins the max), with
 * libnd4j's {@code maxpool2d}/{@code maxpool2d_bp}; the gradient goes to the window's maximum.
 */
public final class MaxPool2d implements Module {

  private final int kernel;
  private final int stride;
  private final int padding;
  private INDArray input;

  public MaxPool2d(int kernel, int stride, int padding) {
    this.kernel = kernel;
    this.stride = stride;
    this.padding = padding;
  }

  @Override
  public INDArray forward(INDArray x, boolean training) {
    long[] s = x.shape();
    long oh = (s[2] + 2L * padding - kernel) / stride + 1;
    long ow = (s[3] + 2L * padding - kernel) / stride + 1;
    INDArray y = Nd4j.createUninitialized(DataType.FLOAT, s[0], s[1], oh, ow);
    Nd4j.exec(op("maxpool2d", new INDArray[] {x}, y));
    input = x;
    return y;
  }

  @Override
  public INDArray backward(INDArray dy) {
    INDArray dx = Nd4j.createUninitialized(DataType.FLOAT, input.shape());
    Nd4j.exec(op("maxpool2d_bp", new INDArray[] {input, dy}, dx));
    input = null;
    return dx;
  }

  private DynamicCustomOp op(String name, INDArray[] inputs, INDArray output) {
    // kH, kW, sH, sW, pH, pW, dH, dW, same-mode off, (unused for max), NCHW.
    return DynamicCustomOp.builder(name).addInputs(inputs).addOutputs(output)
        .addIntegerArguments(kernel, kernel, stride, stride, padding, padding, 1, 1, 0, 0, 0)
        .build();
  }

  @Override
  public void release() {
    input = null;
  }
}
