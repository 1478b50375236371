package org.tessera.core.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.tessera.core.PythonReference;

/**
 * resnet50-trunc against torchvision itself: the same random weights (non-trivial batch norms),
 * converted through the safetensors path users take, on crops of a real tissue image. Needs
 * Debian's torch; fails rather than skips without it, so a missing reference is never mistaken
 * for a pass.
 */
class ResNet50GoldenTest {

  private static final String INSTALL =
      "apt-get install -y python3-torch python3-torchvision";
  private static final Path IHC_PNG =
      Path.of("../wsi/src/main/resources/org/tessera/wsi/synth/ihc.png");
  private static final double TOLERANCE = 1e-4;

  @Test
  void featuresEqualTorchvision(@TempDir Path dir) throws Exception {
    PythonReference.require("torch, torchvision, PIL, numpy", INSTALL);
    assertTrue(Files.isRegularFile(IHC_PNG), "test image missing: " + IHC_PNG.toAbsolutePath());
    Path script = Path.of(getClass().getResource("torch_golden.py").toURI());
    PythonReference.run(script, 180, IHC_PNG.toString(), dir.toString());

    Path weights = dir.resolve("resnet50.safetensors");
    try (SafeTensors golden = SafeTensors.open(dir.resolve("golden.safetensors"));
        PatchEncoder encoder = Encoders.load(EncoderRequest.of("resnet50-trunc")
            .withWeights(weights))) {
      INDArray input = array(golden, "input");
      INDArray expected = array(golden, "features");
      assertEquals(new EncoderSpec("resnet50-trunc", Encoders.sha256(weights), "layer3", 224,
          1024), encoder.spec());

      // Channels-last through oneDNN, the path the embed stage takes.
      assertTrue(((GraphEncoder) encoder).channelsLast());
      INDArray folded = encoder.embed(input);
      assertArrayEquals(expected.shape(), folded.shape());
      double foldedDiff = maxAbsDiff(folded, expected);

      // The DL4J graph with FastConvolution, the path without oneDNN.
      double dl4jDiff;
      try (PatchEncoder dl4j = ChannelsLastGraphTest.withoutChannelsLast(() ->
          ChannelsLastGraphTest.load(EncoderRequest.of("resnet50-trunc").withWeights(weights)))) {
        assertTrue(!((GraphEncoder) dl4j).channelsLast());
        dl4jDiff = maxAbsDiff(dl4j.embed(input), expected);
      }

      // The graph as loaded, before batch norms are folded into the convolutions.
      ComputationGraph graph = Architectures.RESNET50_TRUNC.build(224, 0);
      try (SafeTensors st = SafeTensors.open(weights)) {
        NamedWeights.fromStateDict(st, graph, Architectures.RESNET50_TRUNC);
      }
      double unfoldedDiff = maxAbsDiff(graph.outputSingle(false, input), expected);
      graph.close();

      System.out.printf("resnet50-trunc vs torchvision on %d IHC crops: max |diff| %.3g folded "
          + "channels-last, %.3g folded DL4J graph, %.3g unfolded (features up to %.3g)%n",
          input.size(0), foldedDiff, dl4jDiff, unfoldedDiff, expected.maxNumber().doubleValue());
      assertTrue(foldedDiff <= TOLERANCE, "max |diff| " + foldedDiff + " > " + TOLERANCE);
      assertTrue(dl4jDiff <= TOLERANCE, "DL4J graph max |diff| " + dl4jDiff);
      assertTrue(unfoldedDiff <= TOLERANCE, "unfolded max |diff| " + unfoldedDiff);
    }
  }

  private static double maxAbsDiff(INDArray a, INDArray b) {
    return Transforms.abs(a.sub(b)).maxNumber().doubleValue();
  }

  private static INDArray array(SafeTensors st, String name) {
    return Nd4j.create(st.floats(name), st.info(name).shape(), 'c');
  }
}
