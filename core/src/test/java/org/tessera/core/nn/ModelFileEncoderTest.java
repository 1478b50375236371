package org.tessera.core.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** "Any model file plus the layer to cut at", with DL4J zips built and saved here. */
class ModelFileEncoderTest {

  @TempDir Path dir;

  private static final INDArray TILES = Nd4j.rand(DataType.FLOAT, 3, 3, 32, 32).subi(0.5);

  /** A small classifier: conv-BN-ReLU-pool, conv+ReLU, pooling, dense, softmax. */
  private static ComputationGraph classifier() {
    ComputationGraph net = new ComputationGraph(new NeuralNetConfiguration.Builder()
        .seed(3).dataType(DataType.FLOAT).weightInit(WeightInit.XAVIER)
        .graphBuilder()
        .addInputs("image")
        .addLayer("c1", new ConvolutionLayer.Builder(3, 3).nOut(8).build(), "image")
        .addLayer("bn1", new BatchNormalization.Builder().build(), "c1")
        .addLayer("r1", new ActivationLayer(Activation.RELU), "bn1")
        .addLayer("p1", new SubsamplingLayer.Builder().kernelSize(2, 2).stride(2, 2).build(), "r1")
        .addLayer("c2", new ConvolutionLayer.Builder(3, 3).nOut(6).activation(Activation.RELU)
            .build(), "p1")
        .addLayer("gap", new GlobalPoolingLayer.Builder(PoolingType.MAX).build(), "c2")
        .addLayer("fc", new DenseLayer.Builder().nOut(4).activation(Activation.TANH).build(), "gap")
        .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(2)
            .activation(Activation.SOFTMAX).build(), "fc")
        .setOutputs("out")
        .setInputTypes(InputType.convolutional(32, 32, 3))
        .build());
    net.init();
    randomiseBatchNorms(net.getLayers());
    return net;
  }

  /** Trained-looking statistics (DL4J's default BN stores log10 of the std) so folding matters. */
  private static void randomiseBatchNorms(Layer[] layers) {
    for (Layer layer : layers) {
      if (layer.conf().getLayer() instanceof BatchNormalization) {
        for (Map.Entry<String, INDArray> p : layer.paramTable().entrySet()) {
          p.getValue().assign(Nd4j.rand(DataType.FLOAT, p.getValue().shape())
              .subi(p.getKey().equals("log10stdev") ? 0.5 : 0));
        }
      }
    }
  }

  private Path save(Object model, String name) throws IOException {
    Path file = dir.resolve(name);
    ModelSerializer.writeModel((org.deeplearning4j.nn.api.Model) model, file.toFile(), false);
    return file;
  }

  private static INDArray pooled(INDArray maps) {
    return maps.mean(2, 3);
  }

  @Test
  void graphZipCutAtAnyLayer() throws IOException {
    ComputationGraph net = classifier();
    Map<String, INDArray> acts = net.feedForward(TILES, false);
    Path zip = save(net, "classifier.zip");
    String sha = Encoders.sha256(zip);
    EncoderRequest request = EncoderRequest.of(zip.toString()).withInputSize(32);

    try (PatchEncoder e = Encoders.load(request.withCutLayer("r1"))) {
      assertEquals(new EncoderSpec("classifier.zip", sha, "r1", 32, 8), e.spec());
      assertClose(pooled(acts.get("r1")), e.embed(TILES));
    }
    // A convolution whose batch norm would be folded keeps its own output when it is the cut.
    try (PatchEncoder e = Encoders.load(request.withCutLayer("c1"))) {
      assertClose(pooled(acts.get("c1")), e.embed(TILES));
    }
    try (PatchEncoder e = Encoders.load(request.withCutLayer("fc"))) {
      assertEquals(4, e.featureDim());
      assertClose(acts.get("fc"), e.embed(TILES));
    }
    try (PatchEncoder e = Encoders.load(request)) {
      assertEquals("out", e.spec().cutLayer());
      assertClose(net.outputSingle(false, TILES), e.embed(TILES));
    }
    net.close();
  }

  @Test
  void multiLayerNetworkZipCutByLayerName() throws IOException {
    MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
        .seed(4).dataType(DataType.FLOAT).weightInit(WeightInit.RELU)
        .list()
        .layer(new ConvolutionLayer.Builder(5, 5).name("conv").nOut(5).build())
        .layer(new BatchNormalization.Builder().name("bn").build())
        .layer(new SubsamplingLayer.Builder().name("pool").kernelSize(2, 2).stride(2, 2).build())
        .layer(new DenseLayer.Builder().name("dense").nOut(3).build())
        .layer(new OutputLayer.Builder().name("out").nOut(2).activation(Activation.SOFTMAX).build())
        .setInputType(InputType.convolutional(32, 32, 3))
        .build();
    MultiLayerNetwork net = new MultiLayerNetwork(conf);
    net.init();
    randomiseBatchNorms(net.getLayers());
    INDArray bn = net.feedForwardToLayer(1, TILES, false).get(2);
    Path zip = save(net, "mln.zip");
    try (PatchEncoder e = Encoders.load(
        EncoderRequest.of(zip.toString()).withCutLayer("bn").withInputSize(32))) {
      assertEquals(5, e.featureDim());
      assertClose(pooled(bn), e.embed(TILES));
    }
    net.close();
  }

  @Test
  void modelFileErrorsNameTheFileAndTheFix() throws IOException {
    ComputationGraph net = classifier();
    Path zip = save(net, "classifier.zip");
    net.close();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Encoders.load(EncoderRequest.of(zip.toString()).withCutLayer("r1")));
    assertEquals("model " + zip + " does not record a square input size: pass --input-size",
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Encoders.load(
        EncoderRequest.of(zip.toString()).withCutLayer("relu9").withInputSize(32)));
    assertEquals("model " + zip + ": no layer 'relu9'; layers are c1, bn1, r1, p1, c2, gap, fc, "
        + "out", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Encoders.load(
        EncoderRequest.of(zip.toString()).withRandomInit(1)));
    assertTrue(e.getMessage().startsWith("model file " + zip + " carries its own weights"));
  }

  @Test
  void smallCnnWeightsFromADl4jZip() throws IOException {
    ComputationGraph graph = Architectures.SMALL_CNN.build(32, 5);
    Path zip = save(graph, "small.zip");
    graph.close();
    INDArray expected;
    try (PatchEncoder e = Encoders.load(
        EncoderRequest.of("small-cnn").withRandomInit(5).withInputSize(32))) {
      expected = e.embed(TILES);
    }
    try (PatchEncoder e = Encoders.load(
        EncoderRequest.of("small-cnn").withWeights(zip).withInputSize(32))) {
      assertEquals(new EncoderSpec("small-cnn", Encoders.sha256(zip), "block4", 32, 256),
          e.spec());
      assertArrayEquals(expected.data().asFloat(), e.embed(TILES).data().asFloat());
    }
    Path other = save(classifier(), "other.zip");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Encoders.load(EncoderRequest.of("small-cnn").withWeights(other)));
    assertEquals("weights " + other + ": missing layer 'block1.conv' needed by small-cnn (was it "
        + "saved from a small-cnn encoder?)", e.getMessage());
  }

  @Test
  void torchSaveFilesGetTheConversionHint() throws IOException {
    Path pth = dir.resolve("resnet50.pth");
    try (OutputStream out = Files.newOutputStream(pth);
        ZipOutputStream zip = new ZipOutputStream(out)) {
      zip.putNextEntry(new ZipEntry("resnet50/data.pkl"));
      zip.write(new byte[] {(byte) 0x80, 2});
      zip.closeEntry();
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Encoders.load(EncoderRequest.of("resnet50-trunc").withWeights(pth)));
    assertEquals(pth + " is a torch.save file, which Java cannot read: convert its state_dict "
        + "to safetensors with core/src/test/resources/org/tessera/core/nn/"
        + "torch_to_safetensors.py", e.getMessage());
  }

  private static void assertClose(INDArray expected, INDArray actual) {
    assertArrayEquals(expected.shape(), actual.shape());
    assertTrue(expected.equalsWithEps(actual, 1e-5), "expected " + expected + " got " + actual);
  }
}
