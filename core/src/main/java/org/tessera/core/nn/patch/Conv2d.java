package org.tessera.core.nn.patch;

import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * PyTorch's {@code Conv2d(bias=False, padding=kernel/2)}: OIHW weights, NCHW activations. Forward
 * and backward are libnd4j's {@code conv2d}/{@code conv2d_bp} ops (im2col + GEMM), the same
 * kernels DL4J's own convolution layer trains with.
 */
public final class Conv2d implements Module {

  private final Param weight;
  private final int kernel;
  private final int stride;
  private final int padding;
  private INDArray input;

  /** Zero weights until {@link PatchNet} fills them from a state dict. */
  public Conv2d(String name, int in, int out, int kernel, int stride) {
    long[] shape = {out, in, kernel, kernel};
    this.weight = new Param(name + ".weight", Nd4j.zeros(DataType.FLOAT, shape),
        Nd4j.zeros(DataType.FLOAT, shape));
    this.kernel = kernel;
    this.stride = stride;
    this.padding = kernel / 2;
  }

  @Override
  public INDArray forward(INDArray x, boolean training) {
    long[] s = x.shape();
    long oh = (s[2] + 2L * padding - kernel) / stride + 1;
    long ow = (s[3] + 2L * padding - kernel) / stride + 1;
    INDArray y = Nd4j.createUninitialized(DataType.FLOAT, s[0], weight.shape()[0], oh, ow);
    Nd4j.exec(op("conv2d", new INDArray[] {x, weight.value()}, new INDArray[] {y}));
    input = x;
    return y;
  }

  @Override
  public INDArray backward(INDArray dy) {
    INDArray dx = Nd4j.createUninitialized(DataType.FLOAT, input.shape());
    INDArray dw = Nd4j.createUninitialized(DataType.FLOAT, weight.shape());
    Nd4j.exec(op("conv2d_bp", new INDArray[] {input, weight.value(), dy},
        new INDArray[] {dx, dw}));
    weight.grad().addi(dw);
    dw.close();
    input = null;
    return dx;
  }

  private DynamicCustomOp op(String name, INDArray[] inputs, INDArray[] outputs) {
    // kH, kW, sH, sW, pH, pW, dH, dW, same-mode off, NCHW, weights OIHW.
    return DynamicCustomOp.builder(name).addInputs(inputs).addOutputs(outputs)
        .addIntegerArguments(kernel, kernel, stride, stride, padding, padding, 1, 1, 0, 0, 1)
        .build();
  }

  @Override
  public void collect(List<Param> params, List<Param> buffers) {
    params.add(weight);
  }

  @Override
  public void release() {
    input = null;
  }
}
