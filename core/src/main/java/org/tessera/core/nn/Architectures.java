package org.tessera.core.nn;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.NoOp;

/**
 * The built-in encoder architectures as DL4J graphs. Layer names are PyTorch {@code state_dict}
 * prefixes ({@code layer1.0.conv1}), so a state_dict maps onto a graph by name alone and the
 * networks can be rebuilt in PyTorch to convert weights either way.
 *
 * <p>Graphs are built with BatchNormalization and ReLU as separate layers, the form weights are
 * loaded into; {@link InferenceGraphs#prepare} folds them into the convolutions before use.
 */
enum Architectures {

  /**
   * torchvision 0.14 {@code resnet50} (v1.5: the stride of a stage sits in the 3x3 convolution of
   * its first bottleneck) up to {@code layer3}, then global average pooling: 1024 features. Stage
   * 4 is dropped, as is usual for histology patch features: its ImageNet-specific features
   * transfer worse, and it would add a quarter to the cost.
   */
  RESNET50_TRUNC("resnet50-trunc", 224, "layer3", "is it a torchvision resnet50 state_dict?") {
    @Override
    GraphBuilder layers(GraphBuilder g) {
      String x = convBnRelu(g, "conv1", "bn1", "relu", "input", 7, 2, 64);
      g.addLayer("maxpool", new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX)
          .kernelSize(3, 3).stride(2, 2).padding(1, 1).build(), x);
      x = "maxpool";
      int[] blocks = {3, 4, 6};
      for (int stage = 0; stage < blocks.length; stage++) {
        int width = 64 << stage;
        for (int b = 0; b < blocks[stage]; b++) {
          int stride = b == 0 && stage > 0 ? 2 : 1;
          x = bottleneck(g, "layer" + (stage + 1) + "." + b + ".", x, width, stride, b == 0);
        }
      }
      g.addLayer("avgpool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), x);
      return g.setOutputs("avgpool");
    }

    @Override
    boolean ignores(String key) {
      // A full torchvision resnet50 state_dict also holds the unused stage 4 and classifier.
      return key.startsWith("layer4.") || key.startsWith("fc.");
    }
  },

  /**
   * Four conv3x3-BN-ReLU-maxpool blocks (32, 64, 128, 256 channels) and global average pooling:
   * 256 features at about 1/14 of resnet50-trunc's cost. For demos and tests, where speed matters
   * more than feature quality; it runs at 128 px by default because a demo lesion is visible at
   * that scale, and at any other size on request.
   */
  SMALL_CNN("small-cnn", 128, "block4", "was it saved from a small-cnn encoder?") {
    @Override
    GraphBuilder layers(GraphBuilder g) {
      String x = "input";
      for (int i = 1; i <= 4; i++) {
        String p = "block" + i + ".";
        x = convBnRelu(g, p + "conv", p + "bn", p + "relu", x, 3, 1, 16 << i);
        g.addLayer(p + "pool", new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX)
            .kernelSize(2, 2).stride(2, 2).build(), x);
        x = p + "pool";
      }
      g.addLayer("avgpool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), x);
      return g.setOutputs("avgpool");
    }

    @Override
    boolean ignores(String key) {
      return false;
    }
  };

  /** Name users pass, e.g. {@code resnet50-trunc}. */
  final String id;
  final int defaultInputSize;
  /** Where the features are taken, as recorded in {@link EncoderSpec#cutLayer()}. */
  final String cutLayer;
  /** Appended to weight-mapping errors: the likely cause of a mismatch. */
  final String weightsHint;

  Architectures(String id, int defaultInputSize, String cutLayer, String weightsHint) {
    this.id = id;
    this.defaultInputSize = defaultInputSize;
    this.cutLayer = cutLayer;
    this.weightsHint = weightsHint;
  }

  abstract GraphBuilder layers(GraphBuilder g);

  /** Whether a weight-file entry (tensor key or layer name) outside the network is expected. */
  abstract boolean ignores(String key);

  static Architectures byId(String id) {
    for (Architectures a : values()) {
      if (a.id.equals(id)) {
        return a;
      }
    }
    return null;
  }

  /**
   * The network with deterministic He-initialised weights for {@code seed} and identity batch
   * norms, ready to receive trained weights or to be used as a random-init baseline.
   */
  ComputationGraph build(int inputSize, long seed) {
    GraphBuilder g = new NeuralNetConfiguration.Builder()
        .seed(seed)
        .dataType(DataType.FLOAT)
        .weightInit(WeightInit.RELU)
        // Inference only: an updater would only allocate state.
        .updater(new NoOp())
        .convolutionMode(ConvolutionMode.Truncate)
        .graphBuilder()
        .addInputs("input")
        .setInputTypes(InputType.convolutional(inputSize, inputSize, 3));
    ComputationGraph graph = new ComputationGraph(layers(g).build());
    graph.init();
    return graph;
  }

  /** torchvision's {@code Bottleneck}: 1x1 reduce, 3x3 (strided), 1x1 expand, residual, ReLU. */
  private static String bottleneck(
      GraphBuilder g, String p, String in, int width, int stride, boolean downsample) {
    String x = convBnRelu(g, p + "conv1", p + "bn1", p + "relu1", in, 1, 1, width);
    x = convBnRelu(g, p + "conv2", p + "bn2", p + "relu2", x, 3, stride, width);
    x = convBn(g, p + "conv3", p + "bn3", x, 1, 1, 4 * width);
    String identity = downsample
        ? convBn(g, p + "downsample.0", p + "downsample.1", in, 1, stride, 4 * width)
        : in;
    g.addVertex(p + "add", new ElementWiseVertex(ElementWiseVertex.Op.Add), x, identity);
    g.addLayer(p + "relu", new ActivationLayer(Activation.RELU), p + "add");
    return p + "relu";
  }

  private static String convBnRelu(GraphBuilder g, String conv, String bn, String relu, String in,
      int kernel, int stride, int out) {
    g.addLayer(relu, new ActivationLayer(Activation.RELU), convBn(g, conv, bn, in, kernel, stride,
        out));
    return relu;
  }

  /** PyTorch-style convolution (no bias, padding k/2) followed by inference batch norm. */
  private static String convBn(
      GraphBuilder g, String conv, String bn, String in, int kernel, int stride, int out) {
    g.addLayer(conv, new ConvolutionLayer.Builder(kernel, kernel)
        .stride(stride, stride)
        .padding(kernel / 2, kernel / 2)
        .nOut(out)
        .hasBias(false)
        .activation(Activation.IDENTITY)
        .build(), in);
    // PyTorch's eps, and the variance stored as such (DL4J defaults to log10 of the std).
    g.addLayer(bn, new BatchNormalization.Builder().eps(1e-5).useLogStd(false).build(), conv);
    return bn;
  }
}
