package org.tessera.core.nn.patch;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.tessera.core.PythonReference;
import org.tessera.core.collective.Collective;
import org.tessera.core.optim.Optimizer;
import org.tessera.core.optim.OptimizerConfig;

/**
 * small-cnn + classifier in training mode against PyTorch's own modules in float64 (torch's
 * BatchNorm2d in training mode, Conv2d, max pooling, cross-entropy): logits, loss, input gradient,
 * every parameter gradient and the running statistics after the step. Needs Debian's torch; fails
 * rather than skips without it.
 */
class PatchNetGoldenTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final double TOLERANCE = 1e-4;

  @Test
  void smallCnnTrainingStepMatchesTorch(@TempDir Path dir) throws Exception {
    PythonReference.require("torch, numpy", "apt-get install -y python3-torch python3-numpy");
    int n = 4;
    int size = 32;
    float[] x = PatchFixtures.tiles(n, size, 3);
    int[] labels = {0, 2, 1, 2};
    Map<String, float[]> encoder = PatchFixtures.smallCnnState(size, 5);
    try (PatchNet net = PatchNet.withNewClassifier("small-cnn", encoder, 3, 9,
        Collective.single())) {
      ObjectNode in = JSON.createObjectNode();
      ObjectNode state = in.putObject("state");
      Map<String, long[]> shapes = net.shapes();
      for (Map.Entry<String, float[]> e : net.stateDict().entrySet()) {
        ObjectNode t = state.putObject(e.getKey());
        t.set("shape", JSON.valueToTree(shapes.get(e.getKey())));
        t.set("values", JSON.valueToTree(e.getValue()));
      }
      in.set("x", JSON.valueToTree(x));
      in.set("x_shape", JSON.valueToTree(new int[] {n, 3, size, size}));
      in.set("labels", JSON.valueToTree(labels));
      Path inFile = dir.resolve("in.json");
      Path outFile = dir.resolve("out.json");
      JSON.writeValue(inFile.toFile(), in);
      Path script = Path.of(getClass().getResource("torch_patch.py").toURI());
      PythonReference.run(script, 300, inFile.toString(), outFile.toString());
      JsonNode expected = JSON.readTree(outFile.toFile());

      PatchTrainer trainer = new PatchTrainer(net, Collective.single(),
          Optimizer.create(OptimizerConfig.defaults("sgd"), net.numParams()));
      PatchTrainer.Pass pass = trainer.backprop(PatchFixtures.batch(x, 0, n, size), labels, n);
      float[] dx = pass.dx().data().asFloat();
      pass.dx().close();

      check("logits", PatchFixtures.flat(pass.logits()), expected.get("logits"));
      check("loss", new float[] {(float) pass.result().loss()}, expected.get("loss"));
      check("input gradient", dx, expected.get("dx"));
      float[] grad = net.gradients();
      int offset = 0;
      for (Param p : net.parameterList()) {
        float[] g = java.util.Arrays.copyOfRange(grad, offset, offset + p.length());
        offset += p.length();
        check("gradient " + p.name(), g, expected.get("grads").get(p.name()));
      }
      Map<String, float[]> after = net.stateDict();
      expected.get("buffers").fields().forEachRemaining(e ->
          check("buffer " + e.getKey(), after.get(e.getKey()), e.getValue()));
    }
  }

  /**
   * Error relative to the tensor's largest |value|: stricter than an absolute 1e-4 for the small
   * gradients, and fair to float32 rounding of the large values.
   */
  private static void check(String what, float[] actual, JsonNode expected) {
    float[] e = new float[expected.isArray() ? expected.size() : 1];
    for (int i = 0; i < e.length; i++) {
      e[i] = (float) (expected.isArray() ? expected.get(i) : expected).asDouble();
    }
    double scale = 0;
    double diff = 0;
    for (int i = 0; i < e.length; i++) {
      scale = Math.max(scale, Math.abs(e[i]));
      diff = Math.max(diff, Math.abs(actual[i] - e[i]));
    }
    double error = diff / Math.max(scale, 1e-30);
    System.out.printf("%-30s max|diff| %.2e, largest |value| %.3g, relative to scale %.2e%n",
        what, diff, scale, error);
    assertTrue(actual.length == e.length, what + ": " + actual.length + " values, torch has "
        + e.length);
    assertTrue(scale > 0, what + ": torch's values are all 0, the comparison tests nothing");
    assertTrue(error <= TOLERANCE, what + " differs from torch by " + error);
  }
}
