package org.tessera.core.nn.patch;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Broadcast;
import org.nd4j.linalg.factory.Nd4j;

/** Mean over the spatial dimensions, [N, C, H, W] to the [N, C] feature vectors. */
public final class GlobalAvgPool implements Module {

  private long[] inputShape;

  @Override
  public INDArray forward(INDArray x, boolean training) {
    inputShape = x.shape();
    return x.mean(2, 3);
  }

  @Override
  public INDArray backward(INDArray dy) {
    INDArray share = dy.div(inputShape[2] * inputShape[3]);
    INDArray dx = Nd4j.zeros(DataType.FLOAT, inputShape);
    Broadcast.add(dx, share, dx, 0, 1);
    share.close();
    return dx;
  }
}
