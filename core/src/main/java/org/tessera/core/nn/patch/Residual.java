package org.tessera.core.nn.patch;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * y = main(x) + shortcut(x), the shortcut being the identity or a projection (torchvision's
 * {@code downsample}: 1x1 strided conv + BN). With a ReLU after it, this is a ResNet block.
 */
public final class Residual implements Module {

  private final Module main;
  private final Module shortcut;
  private INDArray mainOut;
  private INDArray shortcutOut;

  /** {@code shortcut} null means identity. */
  public Residual(Module main, Module shortcut) {
    this.main = main;
    this.shortcut = shortcut;
  }

  @Override
  public INDArray forward(INDArray x, boolean training) {
    release();
    mainOut = main.forward(x, training);
    INDArray skip = x;
    if (shortcut != null) {
      shortcutOut = shortcut.forward(x, training);
      skip = shortcutOut;
    }
    return mainOut.add(skip);
  }

  @Override
  public INDArray backward(INDArray dy) {
    INDArray dx = main.backward(dy);
    if (shortcut == null) {
      return dx == dy ? dx.add(dy) : dx.addi(dy);
    }
    INDArray dSkip = shortcut.backward(dy);
    INDArray sum = dx == dy ? dx.add(dSkip) : dx.addi(dSkip);
    if (dSkip != dy) {
      Activations.release(dSkip);
    }
    return sum;
  }

  @Override
  public void collect(List<Param> params, List<Param> buffers) {
    main.collect(params, buffers);
    if (shortcut != null) {
      shortcut.collect(params, buffers);
    }
  }

  @Override
  public void release() {
    if (mainOut != null) {
      Activations.release(mainOut);
      mainOut = null;
    }
    if (shortcutOut != null) {
      Activations.release(shortcutOut);
      shortcutOut = null;
    }
    main.release();
    if (shortcut != null) {
      shortcut.release();
    }
  }
}
