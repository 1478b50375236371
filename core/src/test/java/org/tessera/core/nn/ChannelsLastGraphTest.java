package org.tessera.core.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The channels-last (oneDNN) path computes what DL4J's graph computes, layer kind by layer kind,
 * and on the built-in encoders over batches of changing size (its buffers are kept and regrown).
 */
class ChannelsLastGraphTest {

  /** The default build's nd4j-native carries oneDNN; without it encoders are 2-4x slower. */
  @Test
  void defaultBackendHasOneDnn() {
    assertTrue(ChannelsLastGraph.available(), "nd4j-native on the classpath was built without "
        + "oneDNN: build with the default -Dnd4j.native.classifier=linux-x86_64-onednn-avx2");
  }

  @Test
  void convolutionsAndUnfoldedBatchNormsMatchDl4j() {
    ComputationGraph source = InferenceGraphsTest.mixedGraph(1);
    ComputationGraph prepared = InferenceGraphs.prepare(source, "bn2", "test graph");
    try (ChannelsLastGraph plan = ChannelsLastGraph.compile(prepared, "bn2").orElseThrow()) {
      for (int batch : new int[] {3, 1, 4}) {
        INDArray x = Nd4j.rand(DataType.FLOAT, batch, 3, 17, 13).subi(0.5);
        assertClose(source.outputSingle(false, x), plan.output(x), 1e-5);
        assertClose(source.outputSingle(false, x).mean(2, 3), plan.features(x), 1e-5);
      }
    } finally {
      prepared.close();
      source.close();
    }
  }

  @Test
  void poolingResidualsAndGlobalPoolingMatchDl4j() {
    for (PoolingType global : new PoolingType[] {PoolingType.AVG, PoolingType.MAX}) {
      ComputationGraph source = residualGraph(global, global == PoolingType.MAX);
      INDArray x = Nd4j.rand(DataType.FLOAT, 5, 3, 23, 19).subi(0.5);
      INDArray expected = source.outputSingle(false, x);
      ComputationGraph prepared = InferenceGraphs.prepare(source, "global", "test graph");
      try (ChannelsLastGraph plan = ChannelsLastGraph.compile(prepared, "global").orElseThrow()) {
        assertClose(expected, plan.features(x), 1e-5);
        assertClose(expected, plan.output(x), 1e-5);
        INDArray two = x.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 2)).dup();
        assertClose(source.outputSingle(false, two), plan.features(two), 1e-5);
      } finally {
        prepared.close();
        source.close();
      }
    }
  }

  /**
   * Layers declared NHWC (how Keras imports arrive: zero padding before a "valid" convolution,
   * SAME-mode convolutions and pooling with odd sizes and stride 2): same weights layout, same
   * results.
   */
  @Test
  void nhwcDeclaredLayersMatchDl4j() {
    CNN2DFormat nhwc = CNN2DFormat.NHWC;
    ComputationGraph source = new ComputationGraph(InferenceGraphsTest.graph(6)
        .addLayer("pad", new ZeroPaddingLayer.Builder(2, 1, 0, 3).dataFormat(nhwc).build(), "in")
        .addLayer("conv", new ConvolutionLayer.Builder(3, 3).stride(2, 2).padding(1, 1).nOut(6)
            .dataFormat(nhwc).activation(Activation.RELU).build(), "pad")
        .addLayer("pool", new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX)
            .kernelSize(3, 3).stride(2, 2).padding(1, 1).dataFormat(nhwc).build(), "conv")
        .addLayer("conv2", new ConvolutionLayer.Builder(3, 2).padding(1, 0).nOut(5)
            .dataFormat(nhwc).activation(Activation.IDENTITY).build(), "pool")
        .addLayer("same", new ConvolutionLayer.Builder(3, 3).stride(2, 2).nOut(5)
            .convolutionMode(ConvolutionMode.Same).dataFormat(nhwc).build(), "conv2")
        .addLayer("same1", new ConvolutionLayer.Builder(3, 3).nOut(5)
            .convolutionMode(ConvolutionMode.Same).dataFormat(nhwc).build(), "same")
        .addLayer("samepool", new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX)
            .kernelSize(2, 2).stride(2, 2).convolutionMode(ConvolutionMode.Same).dataFormat(nhwc)
            .build(), "same1")
        .addLayer("bn", new BatchNormalization.Builder().dataFormat(nhwc).build(), "samepool")
        .addLayer("relu", new ActivationLayer(Activation.RELU), "bn")
        .addLayer("global", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "relu")
        .setOutputs("global")
        .setInputTypes(InputType.convolutional(21, 17, 3, nhwc))
        .build());
    source.init();
    InferenceGraphsTest.randomiseBatchNorms(source);
    INDArray x = Nd4j.rand(DataType.FLOAT, 3, 3, 21, 17).subi(0.5);
    INDArray expected = source.outputSingle(false, x.permute(0, 2, 3, 1).dup('c'));
    ComputationGraph prepared = InferenceGraphs.prepare(source, "global", "test graph");
    try (ChannelsLastGraph plan = ChannelsLastGraph.compile(prepared, "global").orElseThrow()) {
      assertClose(expected, plan.features(x), 1e-5);
    } finally {
      prepared.close();
      source.close();
    }
  }

  @Test
  void graphsWithOtherLayersDoNotCompile() {
    // libnd4j 1.0.0-M2.1 cannot hand dilated NHWC convolutions to oneDNN.
    ComputationGraph dilated = InferenceGraphsTest.mixedGraph(2);
    ComputationGraph prepared = InferenceGraphs.prepare(dilated, "bn2", "test graph");
    assertTrue(ChannelsLastGraph.compile(prepared, "bn2").isEmpty());
    prepared.close();
    dilated.close();

    ComputationGraph g = new ComputationGraph(new NeuralNetConfiguration.Builder()
        .seed(1).dataType(DataType.FLOAT).graphBuilder()
        .addInputs("in")
        .addLayer("conv", new ConvolutionLayer.Builder(3, 3).nOut(4).build(), "in")
        .addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "conv")
        .addLayer("dense", new DenseLayer.Builder().nOut(2).build(), "pool")
        .setOutputs("dense")
        .setInputTypes(InputType.convolutional(8, 8, 3))
        .build());
    g.init();
    assertFalse(ChannelsLastGraph.compile(g, "dense").isPresent());
    ComputationGraph mixed = new ComputationGraph(InferenceGraphsTest.graph(1)
        .addLayer("a", new ConvolutionLayer.Builder(3, 3).nIn(3).nOut(4).build(), "in")
        .addLayer("b", new SubsamplingLayer.Builder().kernelSize(2, 2).stride(2, 2)
            .dataFormat(CNN2DFormat.NHWC).build(), "a")
        .setOutputs("b")
        .build());
    mixed.init();
    assertTrue(ChannelsLastGraph.compile(mixed, "b").isEmpty(), "NCHW and NHWC layers mixed");
    mixed.close();
    assertTrue(ChannelsLastGraph.compile(g, "conv").isEmpty(), "output must be the last step");
    g.close();
  }

  @Test
  void builtInEncodersMatchTheDl4jPath() {
    for (String arch : new String[] {"small-cnn", "resnet50-trunc"}) {
      EncoderRequest request = EncoderRequest.of(arch).withRandomInit(5).withInputSize(64);
      PatchEncoder dl4j = withoutChannelsLast(() -> load(request));
      try (PatchEncoder fast = load(request); PatchEncoder slow = dl4j) {
        assertTrue(((GraphEncoder) fast).channelsLast(), arch);
        assertFalse(((GraphEncoder) slow).channelsLast(), arch);
        assertEquals(slow.spec(), fast.spec());
        for (int batch : new int[] {2, 5, 1}) {
          INDArray x = Nd4j.rand(DataType.FLOAT, batch, 3, 64, 64).subi(0.5).muli(4);
          assertClose(slow.embed(x), fast.embed(x), 1e-5);
        }
      }
    }
  }

  /** What {@code loader} loads with the channels-last path switched off. */
  static PatchEncoder withoutChannelsLast(java.util.function.Supplier<PatchEncoder> loader) {
    String before = System.getProperty(ChannelsLastGraph.ENABLED_PROPERTY);
    System.setProperty(ChannelsLastGraph.ENABLED_PROPERTY, "false");
    try {
      return loader.get();
    } finally {
      if (before == null) {
        System.clearProperty(ChannelsLastGraph.ENABLED_PROPERTY);
      } else {
        System.setProperty(ChannelsLastGraph.ENABLED_PROPERTY, before);
      }
    }
  }

  static PatchEncoder load(EncoderRequest request) {
    try {
      return Encoders.load(request);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * conv → max pool (padded) → two convolutions → Add of three → ReLU (fused to AddRelu) → average
   * pool (padding in the divisor or not) → unfolded batch norm (configured with tanh, which DL4J
   * ignores) → sigmoid activation layer → global pooling.
   */
  private static ComputationGraph residualGraph(PoolingType global, boolean includePad) {
    ComputationGraph g = new ComputationGraph(InferenceGraphsTest.graph(4)
        .addLayer("stem", new ConvolutionLayer.Builder(3, 3).stride(2, 2).padding(1, 1).nOut(8)
            .activation(Activation.RELU).build(), "in")
        .addLayer("maxpool", new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX)
            .kernelSize(3, 3).stride(2, 2).padding(1, 1).build(), "stem")
        .addLayer("a", new ConvolutionLayer.Builder(3, 3).padding(1, 1).nOut(8)
            .activation(Activation.IDENTITY).build(), "maxpool")
        .addLayer("b", new ConvolutionLayer.Builder(1, 1).nOut(8).hasBias(false)
            .activation(Activation.LEAKYRELU).build(), "a")
        .addVertex("add", new ElementWiseVertex(ElementWiseVertex.Op.Add), "a", "b", "maxpool")
        .addVertex("add2", new ElementWiseVertex(ElementWiseVertex.Op.Add), "add", "b")
        .addLayer("relu", new ActivationLayer(Activation.RELU), "add2")
        .addLayer("avgpool", new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.AVG)
            .kernelSize(2, 2).stride(2, 2).padding(1, 1).avgPoolIncludePadInDivisor(includePad)
            .build(), "relu")
        .addLayer("bn", new BatchNormalization.Builder().activation(Activation.TANH).build(),
            "avgpool")
        .addLayer("sigmoid", new ActivationLayer(Activation.SIGMOID), "bn")
        .addLayer("global", new GlobalPoolingLayer.Builder(global).build(), "sigmoid")
        .setOutputs("global")
        .setInputTypes(InputType.convolutional(23, 19, 3))
        .build());
    g.init();
    InferenceGraphsTest.randomiseBatchNorms(g);
    return g;
  }

  /** Equal shapes and max |a - b| at most {@code tol} times max |a| (or 1, if larger). */
  private static void assertClose(INDArray expected, INDArray actual, double tol) {
    assertArrayEquals(expected.shape(), actual.shape());
    double scale = Math.max(1, expected.amaxNumber().doubleValue());
    double diff = Transforms.abs(expected.sub(actual)).maxNumber().doubleValue();
    assertTrue(diff <= tol * scale, "max |diff| " + diff + " > " + tol + " x " + scale);
  }
}
