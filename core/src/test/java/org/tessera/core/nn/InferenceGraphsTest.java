package org.tessera.core.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class InferenceGraphsTest {

  @Test
  void rewrittenGraphComputesTheSameAsDl4j() {
    ComputationGraph source = mixedGraph(2);
    INDArray x = Nd4j.rand(DataType.FLOAT, 3, 3, 17, 13).subi(0.5);
    INDArray expected = source.outputSingle(false, x);

    ComputationGraph prepared = InferenceGraphs.prepare(source, "bn2", "test graph");
    // bn (after a ReLU convolution) cannot be folded; bn2 is folded into "big".
    assertEquals(6, prepared.getLayers().length);
    assertTrue(prepared.getLayer("rect") instanceof FastConvolution.Impl);
    assertTrue(prepared.getLayer("bn2") instanceof FastConvolution.Impl);
    assertTrue(!(prepared.getLayer("dilated") instanceof FastConvolution.Impl));
    for (int i = 0; i < 2; i++) {
      INDArray actual = prepared.outputSingle(false, x);
      assertArrayEquals(expected.shape(), actual.shape());
      assertTrue(expected.equalsWithEps(actual, 1e-5), expected + " vs " + actual);
    }
    prepared.close();
    source.close();
  }

  /**
   * A batch norm storing log10(std) with a std near sqrt(eps): DL4J squares the std and adds eps
   * again, which the folded convolution (and the channels-last batch norm) must do too; without
   * it the outputs differ by about 40%.
   */
  @Test
  void logStdBatchNormsKeepDl4jsEps() {
    ComputationGraph source = new ComputationGraph(graph(2)
        .addLayer("conv", new ConvolutionLayer.Builder(3, 3).nOut(4)
            .activation(Activation.IDENTITY).build(), "in")
        .addLayer("bn", new BatchNormalization.Builder().useLogStd(true).eps(1e-4).build(),
            "conv")
        .addLayer("sig", new ConvolutionLayer.Builder(1, 1).nOut(3)
            .activation(Activation.SIGMOID).build(), "bn")
        .addLayer("bn2", new BatchNormalization.Builder().useLogStd(true).eps(1e-4).build(),
            "sig")
        .setOutputs("bn2")
        .setInputTypes(InputType.convolutional(9, 9, 3))
        .build());
    source.init();
    for (String bn : new String[] {"bn", "bn2"}) {
      source.getLayer(bn).getParam("log10stdev").assign(-2.0); // std 0.01, std^2 = eps
    }
    INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 9, 9).subi(0.5);
    INDArray expected = source.outputSingle(false, x);
    ComputationGraph prepared = InferenceGraphs.prepare(source, "bn2", "test graph");
    INDArray actual = prepared.outputSingle(false, x);
    double scale = expected.amaxNumber().doubleValue();
    assertTrue(expected.equalsWithEps(actual, 1e-5 * scale), expected + " vs " + actual);
    ChannelsLastGraph plan = ChannelsLastGraph.compile(prepared, "bn2").orElseThrow();
    assertTrue(expected.equalsWithEps(plan.output(x), 1e-5 * scale));
    plan.close();
    prepared.close();
    source.close();
  }

  /**
   * Convolutions of every shape the fast path handles (DL4J's default activation, sigmoid, on
   * those without one), a 3x3 one with {@code dilation} (dilated ones are left to DL4J), and
   * batch norms with and without a
   * foldable convolution before them; input {@code [B, 3, 17, 13]}, output "bn2". Batch norm
   * statistics are random, so folding them is not a no-op.
   */
  static ComputationGraph mixedGraph(int dilation) {
    ComputationGraph source = new ComputationGraph(graph(9)
        .addLayer("rect", new ConvolutionLayer.Builder(5, 3).stride(2, 1).padding(2, 1).nOut(6)
            .build(), "in")
        .addLayer("dilated", new ConvolutionLayer.Builder(3, 3).dilation(dilation, dilation)
            .padding(dilation, dilation)
            .nOut(5).build(), "rect")
        .addLayer("pointwise", new ConvolutionLayer.Builder(1, 1).nOut(7).hasBias(false)
            .activation(Activation.RELU).build(), "dilated")
        .addLayer("bn", new BatchNormalization.Builder().build(), "pointwise")
        .addLayer("strided", new ConvolutionLayer.Builder(1, 1).stride(2, 2).nOut(4)
            .activation(Activation.TANH).build(), "bn")
        .addLayer("big", new ConvolutionLayer.Builder(7, 7).stride(3, 3).padding(3, 3).nOut(3)
            .activation(Activation.IDENTITY).build(), "strided")
        .addLayer("bn2", new BatchNormalization.Builder().useLogStd(true).build(), "big")
        .setOutputs("bn2")
        .setInputTypes(InputType.convolutional(17, 13, 3))
        .build());
    source.init();
    randomiseBatchNorms(source);
    return source;
  }

  /** Every batch norm gets statistics and scales drawn from [0.2, 1.2), so none is a no-op. */
  static void randomiseBatchNorms(ComputationGraph graph) {
    for (Layer layer : graph.getLayers()) {
      if (layer.conf().getLayer() instanceof BatchNormalization) {
        for (Map.Entry<String, INDArray> p : layer.paramTable().entrySet()) {
          p.getValue().assign(Nd4j.rand(DataType.FLOAT, p.getValue().shape()).addi(0.2));
        }
      }
    }
  }

  /** A float graph builder with Xavier weights, truncating convolutions and one input, "in". */
  static ComputationGraphConfiguration.GraphBuilder graph(long seed) {
    return new NeuralNetConfiguration.Builder()
        .seed(seed).dataType(DataType.FLOAT).weightInit(WeightInit.XAVIER)
        .convolutionMode(ConvolutionMode.Truncate)
        .graphBuilder()
        .addInputs("in");
  }
}
