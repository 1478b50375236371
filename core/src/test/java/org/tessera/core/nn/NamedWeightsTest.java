package org.tessera.core.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.tessera.core.nn.SafeTensorsTest.Raw;

/** The PyTorch-name mapping, exercised on small-cnn with a state_dict written from its graph. */
class NamedWeightsTest {

  @TempDir Path dir;

  private static ComputationGraph trained;
  private static INDArray tiles;

  @BeforeAll
  static void trainedNetwork() {
    trained = Architectures.SMALL_CNN.build(64, 11);
    // Batch norms as trained ones look, so a swapped tensor changes the features.
    for (Layer layer : trained.getLayers()) {
      if (layer.conf().getLayer() instanceof BatchNormalization) {
        for (INDArray p : layer.paramTable().values()) {
          p.assign(Nd4j.rand(DataType.FLOAT, p.shape()).addi(0.5));
        }
      }
    }
    tiles = Nd4j.rand(DataType.FLOAT, 3, 3, 64, 64).subi(0.5);
  }

  @AfterAll
  static void release() {
    trained.close();
  }

  /** The graph's parameters under PyTorch's names, plus the BN counters a real one has. */
  static Map<String, Raw> stateDict(ComputationGraph graph) {
    Map<String, Raw> sd = new LinkedHashMap<>();
    for (Layer layer : graph.getLayers()) {
      String name = layer.conf().getLayer().getLayerName();
      Map<String, INDArray> p = layer.paramTable();
      if (layer.conf().getLayer() instanceof BatchNormalization) {
        sd.put(name + ".weight", raw(p.get("gamma")));
        sd.put(name + ".bias", raw(p.get("beta")));
        sd.put(name + ".running_mean", raw(p.get("mean")));
        sd.put(name + ".running_var", raw(p.get("var")));
        sd.put(name + ".num_batches_tracked", new Raw("I64", new long[] {}, new byte[8]));
      } else if (p.containsKey("W")) {
        sd.put(name + ".weight", raw(p.get("W")));
      }
    }
    return sd;
  }

  private static Raw raw(INDArray a) {
    long[] shape = a.isVector() ? new long[] {a.length()} : a.shape();
    return SafeTensorsTest.f32(shape, a.dup('c').data().asFloat());
  }

  private PatchEncoder load(Map<String, Raw> sd) throws IOException {
    Path file = SafeTensorsTest.write(dir.resolve("w.safetensors"), sd);
    return Encoders.load(EncoderRequest.of("small-cnn").withWeights(file).withInputSize(64));
  }

  @Test
  void stateDictGivesTheSameFeaturesAsTheNetwork() throws IOException {
    INDArray expected = trained.outputSingle(false, tiles);
    try (PatchEncoder encoder = load(stateDict(trained))) {
      INDArray actual = encoder.embed(tiles);
      assertTrue(actual.equalsWithEps(expected, 1e-5), actual + " vs " + expected);
    }
  }

  @Test
  void missingTensorIsNamedWithItsShape() {
    Map<String, Raw> sd = stateDict(trained);
    sd.remove("block2.bn.running_var");
    assertError(sd, "missing tensor 'block2.bn.running_var' [64] needed by small-cnn");
  }

  @Test
  void wrongShapeIsNamed() {
    Map<String, Raw> sd = stateDict(trained);
    sd.put("block3.conv.weight",
        SafeTensorsTest.f32(new long[] {128, 64, 1, 9}, new float[128 * 64 * 9]));
    assertError(sd, "tensor 'block3.conv.weight' has shape [128, 64, 1, 9] but small-cnn needs "
        + "[128, 64, 3, 3]");
  }

  @Test
  void unexpectedTensorIsNamed() {
    Map<String, Raw> sd = stateDict(trained);
    sd.put("head.weight", SafeTensorsTest.f32(new long[] {2}, 1, 2));
    assertError(sd, "unexpected tensor 'head.weight' [2] that small-cnn has no place for");
  }

  private void assertError(Map<String, Raw> sd, String expected) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> load(sd));
    assertTrue(e.getMessage().startsWith("weights " + dir.resolve("w.safetensors") + ": "),
        e.getMessage());
    assertTrue(e.getMessage().contains(expected), e.getMessage());
    assertTrue(e.getMessage().endsWith("(was it saved from a small-cnn encoder?)"),
        e.getMessage());
    assertEquals(1, e.getMessage().lines().count());
  }

  @Test
  void resnetIgnoresStageFourAndClassifierButNeedsTheRest() throws IOException {
    Map<String, Raw> sd = new LinkedHashMap<>();
    sd.put("fc.weight", SafeTensorsTest.f32(new long[] {1, 2}, 1, 2));
    sd.put("layer4.2.bn3.running_var", SafeTensorsTest.f32(new long[] {1}, 1));
    Path file = SafeTensorsTest.write(dir.resolve("r.safetensors"), sd);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Encoders.load(EncoderRequest.of("resnet50-trunc").withWeights(file)));
    assertEquals("weights " + file + ": missing tensor 'conv1.weight' [64, 3, 7, 7] needed by "
        + "resnet50-trunc (is it a torchvision resnet50 state_dict?)", e.getMessage());
  }
}
