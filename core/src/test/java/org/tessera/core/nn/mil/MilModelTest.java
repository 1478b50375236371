package org.tessera.core.nn.mil;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.tessera.core.data.Bag;

/** Determinism, dropout seeding, the flat parameter contract, attention maps and validation. */
class MilModelTest {

  private static final Bag BAG = ToyBags.labelled("b", 1, 30, 12, 4);

  private static MilConfig cfg(String model) {
    return MilConfig.defaults(model, 12, 3).withHiddenDim(16).withAttentionDim(8)
        .withTransmilLandmarks(6);
  }

  @Test
  void sameSeedSameParamsAndGradients() {
    for (String model : MilModel.MODELS) {
      try (MilModel a = MilModel.create(cfg(model), 5); MilModel b = MilModel.create(cfg(model),
          5); MilModel c = MilModel.create(cfg(model), 6)) {
        assertArrayEquals(a.params(), b.params(), model);
        assertFalse(Arrays.equals(a.params(), c.params()), model + ": seed ignored");
        double[] ga = new double[a.numParams()];
        double[] gb = new double[b.numParams()];
        double la = a.accumulateGradient(BAG, 2, 77, ga);
        double lb = b.accumulateGradient(BAG, 2, 77, gb);
        assertEquals(la, lb, model);
        assertArrayEquals(ga, gb, model);
      }
    }
  }

  @Test
  void dropoutSeedDrivesTheMasks() {
    for (String model : MilModel.MODELS) {
      try (MilModel m = MilModel.create(cfg(model).withDropout(0.5), 5)) {
        double[] first = new double[m.numParams()];
        double[] again = new double[m.numParams()];
        double[] other = new double[m.numParams()];
        m.accumulateGradient(BAG, 1, 1, first);
        m.accumulateGradient(BAG, 1, 1, again);
        m.accumulateGradient(BAG, 1, 2, other);
        assertArrayEquals(first, again, model + ": same dropout seed, different gradient");
        assertFalse(Arrays.equals(first, other), model + ": dropout seed has no effect");
        // Evaluation ignores dropout: two predictions agree.
        assertArrayEquals(m.predict(BAG).probabilities(), m.predict(BAG).probabilities(), model);
      }
    }
  }

  @Test
  void gradientsAccumulate() {
    try (MilModel m = MilModel.create(cfg("gated-abmil"), 1)) {
      double[] once = new double[m.numParams()];
      double[] twice = new double[m.numParams()];
      m.accumulateGradient(BAG, 0, 3, once);
      m.accumulateGradient(BAG, 0, 3, twice);
      m.accumulateGradient(BAG, 0, 3, twice);
      for (int i = 0; i < once.length; i++) {
        assertEquals(2 * once[i], twice[i], 1e-12);
      }
    }
  }

  @Test
  void paramsRoundTripAndLayoutTilesTheVector() {
    for (String model : MilModel.MODELS) {
      try (MilModel m = MilModel.create(cfg(model), 9)) {
        int next = 0;
        for (ParamInfo p : m.layout()) {
          assertEquals(next, p.offset(), model + " " + p.name());
          next += p.size();
        }
        assertEquals(m.numParams(), next, model);
        float[] p = m.params();
        for (int i = 0; i < p.length; i++) {
          p[i] = i * 1e-4f;
        }
        m.setParams(p);
        assertArrayEquals(p, m.params(), model);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> m.setParams(new float[3]));
        assertTrue(e.getMessage().contains("3 values"), e.getMessage());
      }
    }
  }

  @Test
  void predictionsCarryProbabilitiesAndOneMapPerName() {
    for (String model : MilModel.MODELS) {
      try (MilModel m = MilModel.create(cfg(model), 2)) {
        Prediction p = m.predict(BAG);
        assertEquals(3, p.probabilities().length, model);
        double sum = 0;
        for (float v : p.probabilities()) {
          sum += v;
        }
        assertEquals(1, sum, 1e-5, model);
        List<String> expected = switch (model) {
          case "abmil", "gated-abmil", "clam-sb", "transmil" -> List.of("attention");
          default -> List.of("class_0", "class_1", "class_2");
        };
        assertEquals(expected, p.attentionNames(), model);
        for (float[] map : p.attention()) {
          assertEquals(BAG.n(), map.length, model);
        }
        if (!model.equals("mean") && !model.equals("max")) {
          double mass = 0;
          for (float v : p.attention()[0]) {
            mass += v;
          }
          // Softmax attention sums to 1; TransMIL's Nyström row approximately, less the token.
          assertEquals(1, mass, model.equals("transmil") ? 0.3 : 1e-4, model);
        }
      }
    }
  }

  @Test
  void smallBagsAndClamKLargerThanTheBag() {
    Bag one = ToyBags.random("one", 1, 12, 3);
    for (String model : MilModel.MODELS) {
      try (MilModel m = MilModel.create(cfg(model).withClam(8, 0.3), 2)) {
        double loss = m.accumulateGradient(one, 1, 1, new double[m.numParams()]);
        assertTrue(Double.isFinite(loss), model + ": loss " + loss);
      }
    }
  }

  @Test
  void configValidatesAndSerialises() throws Exception {
    MilConfig c = MilConfig.defaults("clam-mb", 1024, 4).withClassWeights(new double[] {1, 2, 3,
        4}).withLoss("weighted-ce");
    ObjectMapper json = new ObjectMapper();
    assertEquals(c, json.readValue(json.writeValueAsString(c), MilConfig.class));
    assertMessage(() -> c.withLoss("l2"), "loss=l2", "[ce, weighted-ce, focal, hinge]");
    assertMessage(() -> c.withModel("attn"), "model=attn", "transmil");
    assertMessage(() -> c.withDropout(1), "dropout=1.0", "[0, 1)");
    assertMessage(() -> c.withClassWeights(new double[] {1, 2}), "classWeights=[1.0, 2.0]",
        "4 weights");
    assertMessage(() -> c.withClassWeights(null), "classWeights=null", "weighted-ce");
    assertMessage(() -> c.withInit("orthogonal"), "init=orthogonal", "xavier-uniform");
    assertMessage(() -> c.withModel("transmil").withHiddenDim(100), "hiddenDim=100",
        "multiple of 8");
    assertMessage(() -> MilConfig.defaults("abmil", 8, 1), "numClasses=1", "at least 2");
    try (MilModel m = MilModel.create(cfg("abmil"), 1)) {
      assertMessage(() -> m.predict(ToyBags.random("x", 4, 5, 1)), "5 features", "inputDim=12");
      assertMessage(() -> m.accumulateGradient(BAG, 3, 1, new double[m.numParams()]),
          "label 3", "0..2");
    }
  }

  private static void assertMessage(Runnable r, String... parts) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
    for (String part : parts) {
      assertTrue(e.getMessage().contains(part), "'" + e.getMessage() + "' lacks '" + part + "'");
    }
  }
}
