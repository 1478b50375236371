package org.tessera.core.nn.patch;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/** max(x, 0); the gradient passes where the output is positive, as in PyTorch. */
public final class ReLU implements Module {

  private INDArray mask;

  @Override
  public INDArray forward(INDArray x, boolean training) {
    INDArray y = Transforms.relu(x, true);
    release();
    if (training) {
      INDArray positive = y.gt(0.0);
      mask = positive.castTo(DataType.FLOAT);
      positive.close();
    }
    return y;
  }

  @Override
  public INDArray backward(INDArray dy) {
    INDArray dx = dy.mul(mask);
    release();
    return dx;
  }

  @Override
  public void release() {
    if (mask != null) {
      mask.close();
      mask = null;
    }
  }
}
