package org.tessera.core.nn.mil;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.tessera.core.data.Bag;

/**
 * Autodiff gradients of every model (and, through gated-abmil, every loss) against central finite
 * differences (step 1e-5, small enough not to cross ReLU or max kinks) of the loss, in double
 * precision, with dropout on: the masks are fixed by the seed,
 * so the loss is a deterministic function of the parameters.
 */
class MilGradientCheckTest {

  static Object[][] cases() {
    Object[][] out = new Object[MilModel.MODELS.size() + 3][];
    int i = 0;
    for (String model : MilModel.MODELS) {
      out[i++] = new Object[] {model, "ce", 3};
    }
    out[i++] = new Object[] {"gated-abmil", "weighted-ce", 3};
    out[i++] = new Object[] {"gated-abmil", "focal", 2};
    out[i++] = new Object[] {"gated-abmil", "hinge", 3};
    return out;
  }

  @ParameterizedTest(name = "{0} {1} {2} classes")
  @MethodSource("cases")
  void autodiffMatchesFiniteDifferences(String model, String loss, int classes) {
    MilConfig cfg = new MilConfig(model, 6, classes, 8, 5, 0.2, loss,
        loss.equals("weighted-ce") ? new double[] {0.5, 2.0, 1.5} : null, 0.25, 2.0, 3, 0.3, 4,
        "xavier-uniform");
    Bag bag = ToyBags.random("b", 11, 6, 5);
    int label = 1;
    long dropoutSeed = 99;
    try (MilModel m = MilModel.createDouble(cfg, 3)) {
      float[] p = m.params();
      double[] grad = new double[p.length];
      m.accumulateGradient(bag, label, dropoutSeed, grad);
      SplittableRandom pick = new SplittableRandom(17);
      int checks = Math.min(p.length, 250);
      double worst = 0;
      String worstAt = "";
      for (int c = 0; c < checks; c++) {
        int j = p.length <= 250 ? c : pick.nextInt(p.length);
        float orig = p[j];
        float up = (float) (orig + 1e-5);
        float down = (float) (orig - 1e-5);
        p[j] = up;
        m.setParams(p);
        double lUp = m.loss(bag, label, dropoutSeed);
        p[j] = down;
        m.setParams(p);
        double lDown = m.loss(bag, label, dropoutSeed);
        p[j] = orig;
        double fd = (lUp - lDown) / ((double) up - (double) down);
        double err = Math.abs(fd - grad[j]) / (1e-4 + Math.abs(fd) + Math.abs(grad[j]));
        if (err > worst) {
          worst = err;
          worstAt = name(m, j) + " fd=" + fd + " autodiff=" + grad[j];
        }
      }
      m.setParams(p);
      System.out.printf("%s/%s: %d params, %d checked, worst relative error %.2e (%s)%n", model,
          loss, p.length, checks, worst, worstAt);
      assertTrue(worst < 1e-4, model + "/" + loss + ": worst relative error " + worst + " at "
          + worstAt);
    }
  }

  private static String name(MilModel m, int j) {
    for (ParamInfo p : m.layout()) {
      if (j >= p.offset() && j < p.offset() + p.size()) {
        return p.name() + "[" + (j - p.offset()) + "]";
      }
    }
    return "?";
  }
}
