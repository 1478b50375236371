package org.tessera.core.nn.patch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.tessera.core.collective.Collective;
import org.tessera.core.nn.EncoderRequest;
import org.tessera.core.nn.Encoders;
import org.tessera.core.nn.PatchEncoder;
import org.tessera.core.nn.StateDicts;
import org.tessera.core.optim.Optimizer;
import org.tessera.core.optim.OptimizerConfig;

/**
 * Weights move between the patch network and the embed stage's encoders: the round-0 encoder is
 * the one {@code --random-init} builds, and a fine-tuned encoder saved as safetensors is what
 * {@link Encoders#load} then embeds with.
 */
class PatchNetWeightsTest {

  @TempDir Path dir;

  @Test
  void startsFromTheRandomInitEncoder() throws Exception {
    int size = 32;
    INDArray x = PatchFixtures.batch(PatchFixtures.tiles(3, size, 41), 0, 3, size);
    try (PatchNet net = PatchNet.withNewClassifier("small-cnn",
            StateDicts.initial("small-cnn", size, 7), 2, 1, Collective.single());
        PatchEncoder encoder = Encoders.load(EncoderRequest.of("small-cnn").withRandomInit(7)
            .withInputSize(size))) {
      assertFeaturesEqual(encoder.embed(x), net.features(x));
    }
  }

  @Test
  void fineTunedEncoderLoadsIntoTheEmbedStage() throws Exception {
    int size = 32;
    float[] tiles = PatchFixtures.tiles(8, size, 42);
    INDArray x = PatchFixtures.batch(tiles, 0, 8, size);
    Path encoderFile = dir.resolve("encoder.safetensors");
    Path checkpoint = dir.resolve("net.safetensors");
    Map<String, float[]> trained;
    INDArray features;
    try (PatchNet net = PatchNet.withNewClassifier("small-cnn",
        PatchFixtures.smallCnnState(size, 43), 2, 1, Collective.single())) {
      PatchTrainer trainer = new PatchTrainer(net, Collective.single(), Optimizer.create(
          OptimizerConfig.defaults("momentum").withLearningRate(0.05), net.numParams()));
      trainer.step(x, PatchFixtures.labels(8, 2, 44), 8);
      trainer.step(x, PatchFixtures.labels(8, 2, 45), 8);
      net.saveEncoder(encoderFile);
      net.save(checkpoint);
      trained = net.stateDict();
      features = net.features(x);
    }
    try (PatchEncoder encoder = Encoders.load(EncoderRequest.of("small-cnn")
        .withWeights(encoderFile).withInputSize(size))) {
      assertFeaturesEqual(encoder.embed(x), features);
    }
    try (PatchNet restored = PatchNet.load("small-cnn", checkpoint, Collective.single())) {
      Map<String, float[]> state = restored.stateDict();
      assertEquals(trained.keySet(), state.keySet());
      for (String key : trained.keySet()) {
        assertArrayEquals(trained.get(key), state.get(key), key);
      }
    }
  }

  @Test
  void stateDictErrorsNameTheKey() {
    Map<String, float[]> state = new LinkedHashMap<>(StateDicts.initial("small-cnn", 32, 1));
    state.remove("block3.bn.running_var");
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> PatchNet.withNewClassifier("small-cnn", state, 2, 1, Collective.single()));
    assertTrue(missing.getMessage().contains("'block3.bn.running_var'"), missing.getMessage());
    state.put("block3.bn.running_var", new float[128]);
    state.put("block9.conv.weight", new float[1]);
    IllegalArgumentException extra = assertThrows(IllegalArgumentException.class,
        () -> PatchNet.withNewClassifier("small-cnn", state, 2, 1, Collective.single()));
    assertTrue(extra.getMessage().contains("'block9.conv.weight'"), extra.getMessage());
  }

  /** resnet50-trunc expressed with the same modules computes the DL4J encoder's features. */
  @Test
  void resnet50TruncMatchesTheEncoderInEvalMode() throws Exception {
    int size = 64;
    INDArray x = PatchFixtures.batch(PatchFixtures.tiles(2, size, 46), 0, 2, size);
    try (PatchNet net = PatchNet.withNewClassifier("resnet50-trunc",
            StateDicts.initial("resnet50-trunc", size, 3), 2, 1, Collective.single());
        PatchEncoder encoder = Encoders.load(EncoderRequest.of("resnet50-trunc")
            .withRandomInit(3).withInputSize(size))) {
      assertEquals(1024, net.featureDim());
      assertFeaturesEqual(encoder.embed(x), net.features(x));
    }
  }

  private static void assertFeaturesEqual(INDArray expected, INDArray actual) {
    assertArrayEquals(expected.shape(), actual.shape());
    double err = PatchFixtures.relError(actual.data().asFloat(), expected.data().asFloat());
    System.out.printf("features %s: max |diff| relative to the largest feature %.2e%n",
        java.util.Arrays.toString(expected.shape()), err);
    assertTrue(err <= 1e-4, "features differ by " + err);
  }
}
