package org.tessera.core.nn.patch;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Modules applied in order. It owns the activations between its modules: they stay alive for
 * backward and are released ({@link Activations#release}) at the next forward (or {@link
 * #release}); gradients between modules are released as soon as the previous module has consumed
 * them. A module may return the array it was given (an in-place {@link ReLU}).
 */
public final class Sequential implements Module {

  private final List<Module> modules;
  private final List<INDArray> intermediates = new ArrayList<>();

  public Sequential(List<Module> modules) {
    this.modules = List.copyOf(modules);
  }

  public List<Module> modules() {
    return modules;
  }

  @Override
  public INDArray forward(INDArray x, boolean training) {
    release();
    INDArray h = x;
    for (int i = 0; i < modules.size(); i++) {
      INDArray next = modules.get(i).forward(h, training);
      if (i > 0 && h != x && h != next) {
        intermediates.add(h);
      }
      h = next;
    }
    return h;
  }

  @Override
  public INDArray backward(INDArray dy) {
    INDArray g = dy;
    for (int i = modules.size() - 1; i >= 0; i--) {
      INDArray next = modules.get(i).backward(g);
      if (g != dy && g != next) {
        Activations.release(g);
      }
      g = next;
    }
    return g;
  }

  @Override
  public void collect(List<Param> params, List<Param> buffers) {
    for (Module m : modules) {
      m.collect(params, buffers);
    }
  }

  @Override
  public void release() {
    for (INDArray a : intermediates) {
      Activations.release(a);
    }
    intermediates.clear();
    for (Module m : modules) {
      m.release();
    }
  }
}
