package org.tessera.core.nn.patch;

import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** PyTorch's {@code Linear}: y = x W^T + b, W [out, in]. */
public final class Linear implements Module {

  private final Param weight;
  private final Param bias;
  private INDArray input;

  public Linear(String name, int in, int out) {
    this.weight = new Param(name + ".weight", Nd4j.zeros(DataType.FLOAT, out, in),
        Nd4j.zeros(DataType.FLOAT, out, in));
    this.bias = new Param(name + ".bias", Nd4j.zeros(DataType.FLOAT, out),
        Nd4j.zeros(DataType.FLOAT, out));
  }

  @Override
  public INDArray forward(INDArray x, boolean training) {
    input = x;
    INDArray y = x.mmul(weight.value().transpose());
    return y.addiRowVector(bias.value());
  }

  @Override
  public INDArray backward(INDArray dy) {
    INDArray dw = dy.transpose().mmul(input);
    weight.grad().addi(dw);
    dw.close();
    INDArray db = dy.sum(0);
    bias.grad().addi(db);
    db.close();
    input = null;
    return dy.mmul(weight.value());
  }

  @Override
  public void collect(List<Param> params, List<Param> buffers) {
    params.add(weight);
    params.add(bias);
  }

  @Override
  public void release() {
    input = null;
  }
}
