package org.tessera.core.nn.mil;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tessera.core.PythonReference;
import org.tessera.core.data.Bag;

/**
 * Gated-attention MIL (with every loss, binary and 3-class) and CLAM-SB (binary and 3-class
 * subtyping, k below and above n) against an
 * independent PyTorch implementation in float64 on the same parameters and bag: probabilities,
 * loss and every parameter's gradient within 1e-5. Needs Debian's torch; fails rather than skips
 * without it.
 */
class MilGoldenTest {

  private static final String INSTALL = "apt-get install -y python3-torch";
  private static final double TOLERANCE = 1e-5;
  private static final ObjectMapper JSON = new ObjectMapper();

  private record Case(MilConfig cfg, int label) {}

  @Test
  void headsMatchTorch(@TempDir Path dir) throws Exception {
    PythonReference.require("torch", INSTALL);
    MilConfig gated = new MilConfig("gated-abmil", 16, 3, 12, 8, 0, "ce", null, 0.25, 2.0, 8,
        0.3, 64, "xavier-uniform");
    MilConfig binary = new MilConfig("clam-sb", 16, 2, 12, 8, 0, "ce", null, 0.25, 2.0, 6, 0.3,
        64, "he");
    List<Case> cases = List.of(
        new Case(binary, 1),
        new Case(binary.withModel("gated-abmil").withLoss("hinge"), 0),
        new Case(gated, 2),
        new Case(gated.withClassWeights(new double[] {0.7, 1.3, 2.5}).withLoss("weighted-ce"), 2),
        new Case(gated.withLoss("focal").withFocal(0.4, 2.0), 1),
        new Case(gated.withLoss("hinge"), 0),
        new Case(gated.withModel("clam-sb").withClam(5, 0.3), 1),
        new Case(gated.withModel("clam-sb").withClam(5, 0.3), 2),
        new Case(gated.withModel("clam-sb").withClam(50, 0.6), 0));
    Bag bag = ToyBags.labelled("golden", 1, 40, 16, 11);

    ArrayNode input = JSON.createArrayNode();
    List<float[]> params = new ArrayList<>();
    List<MilModel> models = new ArrayList<>();
    for (int c = 0; c < cases.size(); c++) {
      MilConfig cfg = cases.get(c).cfg;
      MilModel m = MilModel.create(cfg, 100 + c);
      models.add(m);
      // The configuration goes through Jackson as a checkpoint would carry it.
      ObjectNode node = input.addObject();
      node.set("config", JSON.readTree(JSON.writeValueAsString(cfg)));
      assertEquals(cfg, JSON.readValue(JSON.writeValueAsString(cfg), MilConfig.class));
      node.set("layout", JSON.valueToTree(m.layout()));
      node.set("params", JSON.valueToTree(m.params()));
      node.set("features", JSON.valueToTree(bag.features()));
      node.put("n", bag.n()).put("dim", bag.dim()).put("label", cases.get(c).label);
      params.add(m.params());
    }
    Path in = dir.resolve("cases.json");
    Path out = dir.resolve("out.json");
    JSON.writeValue(in.toFile(), input);
    Path script = Path.of(getClass().getResource("torch_mil.py").toURI());
    PythonReference.run(script, 120, in.toString(), out.toString());
    JsonNode expected = JSON.readTree(out.toFile());

    for (int c = 0; c < cases.size(); c++) {
      Case k = cases.get(c);
      String what = k.cfg.model() + "/" + k.cfg.loss() + " classes=" + k.cfg.numClasses()
          + " label=" + k.label + " k=" + k.cfg.clamK();
      try (MilModel m = models.get(c)) {
        double[] grad = new double[m.numParams()];
        double loss = m.accumulateGradient(bag, k.label, 7, grad);
        float[] probs = m.predict(bag).probabilities();
        JsonNode e = expected.get(c);
        double probDiff = 0;
        for (int j = 0; j < probs.length; j++) {
          probDiff = Math.max(probDiff, Math.abs(probs[j] - e.get("probs").get(j).asDouble()));
        }
        double gradDiff = 0;
        double gradMax = 0;
        assertEquals(m.numParams(), e.get("grad").size(), what);
        for (int j = 0; j < grad.length; j++) {
          double t = e.get("grad").get(j).asDouble();
          gradDiff = Math.max(gradDiff, Math.abs(grad[j] - t));
          gradMax = Math.max(gradMax, Math.abs(t));
        }
        double lossDiff = Math.abs(loss - e.get("loss").asDouble());
        System.out.printf("%s: loss %.6f, max |diff| probs %.2e, loss %.2e, gradients %.2e"
            + " (largest gradient %.3g)%n", what, loss, probDiff, lossDiff, gradDiff, gradMax);
        assertTrue(gradMax > 1e-3, what + ": reference gradients are all ~0, the case tests nothing");
        assertTrue(probDiff <= TOLERANCE, what + ": probabilities differ by " + probDiff);
        assertTrue(lossDiff <= TOLERANCE, what + ": loss differs by " + lossDiff);
        assertTrue(gradDiff <= TOLERANCE, what + ": gradients differ by " + gradDiff);
      }
    }
  }
}
