package org.tessera.core.nn.mil;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.tessera.core.data.Bag;

/**
 * The written-out training step of abmil and gated-abmil ({@link AttentionStep}, what {@link
 * MilModel#accumulateGradient} runs for them) against the SameDiff graph's autodiff, which every
 * other model uses and {@link MilGoldenTest} holds against PyTorch: every loss, two and three
 * classes, with and without dropout, in double precision (to rounding) and in float.
 */
class AttentionStepTest {

  static List<Object[]> cases() {
    List<Object[]> out = new ArrayList<>();
    for (String model : List.of("abmil", "gated-abmil")) {
      for (String loss : List.of("ce", "weighted-ce", "focal", "hinge")) {
        for (int classes : new int[] {2, 3}) {
          for (double dropout : new double[] {0.0, 0.3}) {
            out.add(new Object[] {model, loss, classes, dropout});
          }
        }
      }
    }
    return out;
  }

  private static MilConfig config(String model, String loss, int classes, double dropout) {
    return new MilConfig(model, 12, classes, 16, 8, dropout, loss,
        loss.equals("weighted-ce") ? Arrays.copyOf(new double[] {0.5, 2.0, 1.5}, classes) : null,
        0.25, 2.0, 3, 0.3, 4, "xavier-uniform");
  }

  @ParameterizedTest(name = "{0} {1} {2} classes dropout {3}")
  @MethodSource("cases")
  void sameGradientAsTheGraph(String model, String loss, int classes, double dropout) {
    MilConfig cfg = config(model, loss, classes, dropout);
    Bag bag = ToyBags.random("b", 37, 12, 5);
    for (int label = 0; label < classes; label++) {
      try (MilModel m = MilModel.createDouble(cfg, 3)) {
        compare(m, bag, label, 1e-10, model + "/" + loss + " label " + label + " (double)");
      }
      try (MilModel m = MilModel.create(cfg, 3)) {
        compare(m, bag, label, 2e-5, model + "/" + loss + " label " + label + " (float)");
      }
    }
  }

  private static void compare(MilModel m, Bag bag, int label, double tolerance, String what) {
    double[] written = new double[m.numParams()];
    double[] graph = new double[m.numParams()];
    // Twice into the same array, so accumulation is tested too.
    double lossWritten = m.accumulateGradient(bag, label, 41, written);
    m.accumulateGradient(bag, label, 41, written);
    double lossGraph = m.graphGradient(bag, label, 41, graph);
    m.graphGradient(bag, label, 41, graph);
    assertEquals(lossGraph, lossWritten, tolerance * Math.max(1, Math.abs(lossGraph)),
        what + ": loss");
    double scale = 0;
    for (double g : graph) {
      scale = Math.max(scale, Math.abs(g));
    }
    // Only a hinge loss already past its margin has no gradient at all.
    assertTrue(scale > 0 || lossGraph == 0, what + ": the graph's gradient is all zero");
    for (ParamInfo p : m.layout()) {
      double worst = 0;
      for (int i = p.offset(); i < p.offset() + p.size(); i++) {
        worst = Math.max(worst, Math.abs(written[i] - graph[i]));
      }
      assertTrue(worst <= tolerance * scale, what + ": " + p.name() + " differs by " + worst
          + " (largest gradient " + scale + ")");
    }
  }
}
