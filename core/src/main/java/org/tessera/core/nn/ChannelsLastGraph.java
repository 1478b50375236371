package org.tessera.core.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.params.ConvolutionParamInitializer;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastAddOp;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastSubOp;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinear;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.AddOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * An inference graph run channels-last (NHWC) through libnd4j's {@code conv2d} and pooling ops,
 * which the oneDNN build of nd4j-native hands to oneDNN: on the encoders' shapes its NHWC
 * convolutions run 3-25x faster than the same op in NCHW and 2-3x faster than
 * {@link FastConvolution}'s GEMMs (docs/architecture.md §7). The graph is the one
 * {@link InferenceGraphs#prepare} made (batch norms folded, Add + ReLU fused); this class turns
 * it into a list of steps once, with the convolution weights re-laid out as {@code [O, kh, kw,
 * I]}, and then runs batches through them.
 *
 * <p>Activations live in buffers the plan keeps between batches, sized for the largest batch
 * seen: a step's output takes a free buffer, and a buffer returns to the free list after the last
 * step that reads it. On resnet50-trunc at 32 tiles that is five buffers, 353 MB, allocated once:
 * fresh arrays of 100 MB would be mapped and faulted in on every batch.
 *
 * <p>Only graphs made of the layers below compile ({@link #compile} returns empty otherwise, and
 * the caller runs the DL4J graph): convolutions (any activation, stride, padding or mode; not
 * dilated), max/average subsampling, zero padding, batch norms left unfolded, activation
 * layers, element-wise Add (and {@link AddRelu}), and global average/max pooling as the output,
 * with no input preprocessors. The layers may be declared NCHW (the built-in encoders) or NHWC
 * (Keras imports), not both: this class runs them all NHWC and takes and returns what a
 * {@link PatchEncoder} does, NCHW tiles in, vectors (or NCHW maps) out. Not thread-safe: one
 * thread runs it (the encoder's worker).
 */
final class ChannelsLastGraph implements AutoCloseable {

  /** System property that turns the channels-last path off ({@code false}); on by default. */
  static final String ENABLED_PROPERTY = "tessera.encoder.channelsLast";

  /** In topological order; a step's inputs are indices of earlier steps, -1 the network input. */
  private final List<Step> steps;
  private final int outputStep;
  /** The last step that reads the network input. */
  private final int lastInputUse;
  private final Buffers buffers = new Buffers();

  private ChannelsLastGraph(List<Step> steps, int lastInputUse) {
    this.steps = steps;
    this.outputStep = steps.size() - 1;
    this.lastInputUse = lastInputUse;
  }

  /**
   * Whether this JVM's ND4J backend runs convolutions through oneDNN (the CPU backend of a
   * libnd4j built with it) and the path is not switched off.
   */
  static boolean available() {
    if (!Boolean.parseBoolean(System.getProperty(ENABLED_PROPERTY, "true"))
        || !Nd4j.getEnvironment().isCPU()) {
      return false;
    }
    String info = NativeOpsHolder.getInstance().getDeviceNativeOps().buildInfo();
    return info != null && info.contains("HAVE_ONEDNN");
  }

  /**
   * The channels-last plan of {@code graph} (single image input, output {@code output}), or empty
   * when it holds a layer this class does not run or is not in 32-bit floats.
   */
  static Optional<ChannelsLastGraph> compile(ComputationGraph graph, String output) {
    ComputationGraphConfiguration conf = graph.getConfiguration();
    if (conf.getDataType() != DataType.FLOAT || conf.getNetworkInputs().size() != 1) {
      return Optional.empty();
    }
    String input = conf.getNetworkInputs().get(0);
    Map<String, List<String>> inputs = conf.getVertexInputs();
    org.deeplearning4j.nn.graph.vertex.GraphVertex[] vertices = graph.getVertices();
    List<String> order = new ArrayList<>();
    for (int i : graph.topologicalSortOrder()) {
      String name = vertices[i].getVertexName();
      if (!name.equals(input)) {
        order.add(name);
      }
    }
    if (order.isEmpty() || !order.get(order.size() - 1).equals(output)) {
      return Optional.empty();
    }
    Map<String, Integer> index = new HashMap<>();
    index.put(input, -1);
    List<Step> steps = new ArrayList<>();
    java.util.Set<CNN2DFormat> formats = java.util.EnumSet.noneOf(CNN2DFormat.class);
    boolean vectorOut = false;
    for (String name : order) {
      if (vectorOut) {
        return abandon(steps); // nothing may follow a global pooling
      }
      List<String> from = inputs.get(name);
      int[] in = new int[from.size()];
      for (int i = 0; i < in.length; i++) {
        in[i] = index.get(from.get(i));
      }
      GraphVertex vertex = conf.getVertices().get(name);
      Step step = step(graph, vertex, name, in);
      CNN2DFormat format = format(vertex);
      if (step == null || (format != null && formats.add(format) && formats.size() > 1)) {
        // Mixed layouts would need DL4J's permutes between layers; left to DL4J.
        if (step != null) {
          steps.add(step);
        }
        return abandon(steps);
      }
      vectorOut = step.kind == Kind.GLOBAL_AVG || step.kind == Kind.GLOBAL_MAX;
      index.put(name, steps.size());
      steps.add(step);
    }
    int lastInputUse = -1;
    for (int s = 0; s < steps.size(); s++) {
      for (int i : steps.get(s).inputs) {
        if (i >= 0) {
          steps.get(i).lastUse = s;
        } else {
          lastInputUse = s;
        }
      }
    }
    return Optional.of(new ChannelsLastGraph(steps, lastInputUse));
  }

  /** Frees the re-laid-out weights of steps made before compiling gave up. */
  private static Optional<ChannelsLastGraph> abandon(List<Step> steps) {
    steps.forEach(Step::close);
    return Optional.empty();
  }

  /** The activation layout a layer declares; null for layers without one. */
  private static CNN2DFormat format(GraphVertex vertex) {
    if (!(vertex instanceof LayerVertex lv)) {
      return null;
    }
    org.deeplearning4j.nn.conf.layers.Layer l = lv.getLayerConf().getLayer();
    if (l instanceof ZeroPaddingLayer z) {
      return z.getDataFormat();
    }
    if (l instanceof ConvolutionLayer c) {
      return c.getCnn2dDataFormat();
    }
    if (l instanceof SubsamplingLayer p) {
      return p.getCnn2dDataFormat();
    }
    return l instanceof BatchNormalization b ? b.getCnn2DFormat() : null;
  }

  private static Step step(ComputationGraph graph, GraphVertex vertex, String name, int[] in) {
    if (vertex instanceof AddRelu) {
      return in.length == 2 ? new Step(Kind.ADD_RELU, in) : null;
    }
    if (vertex.getClass() == ElementWiseVertex.class) {
      return ((ElementWiseVertex) vertex).getOp() == ElementWiseVertex.Op.Add && in.length >= 2
          ? new Step(Kind.ADD, in) : null;
    }
    if (!(vertex instanceof LayerVertex lv) || lv.getPreProcessor() != null || in.length != 1) {
      return null;
    }
    org.deeplearning4j.nn.conf.layers.Layer conf = lv.getLayerConf().getLayer();
    if (conf instanceof ConvolutionLayer c
        && (c.getClass() == ConvolutionLayer.class || c.getClass() == FastConvolution.class)) {
      // libnd4j 1.0.0-M2.1 fails to hand dilated NHWC convolutions to oneDNN.
      if (!Arrays.equals(c.getDilation(), new int[] {1, 1})) {
        return null;
      }
      Layer layer = graph.getLayer(name);
      Step s = new Step(Kind.CONV, in);
      s.same = c.getConvolutionMode() == ConvolutionMode.Same;
      s.kernel = c.getKernelSize();
      s.stride = c.getStride();
      s.padding = c.getPadding();
      s.dilation = c.getDilation();
      s.outChannels = (int) c.getNOut();
      // DL4J keeps [O, I, kh, kw] whichever layout the layer's activations have; re-laid out as
      // [O, kh, kw, I], the layout libnd4j's conv2d takes with weightsFormat 2.
      s.weights = layer.getParam(ConvolutionParamInitializer.WEIGHT_KEY)
          .permute(0, 2, 3, 1).dup('c');
      s.bias = c.hasBias()
          ? layer.getParam(ConvolutionParamInitializer.BIAS_KEY).reshape(c.getNOut()).dup()
          : null;
      s.activation = c.getActivationFn();
      return s;
    }
    if (conf.getClass() == SubsamplingLayer.class) {
      SubsamplingLayer p = (SubsamplingLayer) conf;
      boolean max = p.getPoolingType() == PoolingType.MAX;
      if (!(max || p.getPoolingType() == PoolingType.AVG)) {
        return null;
      }
      Step s = new Step(max ? Kind.MAX_POOL : Kind.AVG_POOL, in);
      s.same = p.getConvolutionMode() == ConvolutionMode.Same;
      s.kernel = p.getKernelSize();
      s.stride = p.getStride();
      s.padding = p.getPadding();
      s.dilation = p.getDilation();
      s.includePad = p.isAvgPoolIncludePadInDivisor();
      return s;
    }
    if (conf.getClass() == BatchNormalization.class) {
      InferenceGraphs.BatchNormTerms t = InferenceGraphs.batchNormTerms(graph.getLayer(name));
      Step s = new Step(Kind.BATCH_NORM, in);
      s.mean = Nd4j.createFromArray(t.mean()).castTo(DataType.FLOAT);
      s.weights = Nd4j.createFromArray(t.scale()).castTo(DataType.FLOAT);
      s.bias = Nd4j.createFromArray(t.beta()).castTo(DataType.FLOAT);
      // No activation: DL4J's batch norm layer ignores the one its configuration carries.
      return s;
    }
    if (conf.getClass() == ZeroPaddingLayer.class) {
      Step s = new Step(Kind.ZERO_PAD, in);
      s.padding = ((ZeroPaddingLayer) conf).getPadding(); // top, bottom, left, right
      return s;
    }
    if (conf.getClass() == ActivationLayer.class) {
      Step s = new Step(Kind.ACTIVATION, in);
      s.activation = ((ActivationLayer) conf).getActivationFn();
      return s;
    }
    if (conf.getClass() == GlobalPoolingLayer.class) {
      GlobalPoolingLayer g = (GlobalPoolingLayer) conf;
      int[] dims = g.getPoolingDimensions();
      if (!g.isCollapseDimensions() || (dims != null && !Arrays.equals(dims, new int[] {2, 3})
          && !Arrays.equals(dims, new int[] {1, 2}))) {
        return null;
      }
      if (g.getPoolingType() == PoolingType.AVG) {
        return new Step(Kind.GLOBAL_AVG, in);
      }
      return g.getPoolingType() == PoolingType.MAX ? new Step(Kind.GLOBAL_MAX, in) : null;
    }
    return null;
  }

  /**
   * Features of a batch: the output layer's vector, or its feature maps averaged over H and W.
   *
   * @param nchw float {@code [B, 3, H, W]}
   * @return a new float {@code [B, C]} array
   */
  INDArray features(INDArray nchw) {
    return run(nchw, true);
  }

  /** The output layer's activations as the DL4J graph gives them (NCHW maps, or vectors). */
  INDArray output(INDArray nchw) {
    return run(nchw, false);
  }

  private INDArray run(INDArray nchw, boolean pool) {
    int batch = (int) nchw.size(0);
    buffers.prepare(batch);
    INDArray[] values = new INDArray[steps.size()];
    Buffer inputBuffer = buffers.take(nchw.length() / batch);
    INDArray x = inputBuffer.view(new long[] {batch, nchw.size(2), nchw.size(3), nchw.size(1)});
    x.assign(nchw.permute(0, 2, 3, 1));
    Buffer[] held = new Buffer[steps.size()];
    INDArray result = null;
    try {
      for (int s = 0; s < steps.size(); s++) {
        Step step = steps.get(s);
        INDArray[] in = new INDArray[step.inputs.length];
        for (int i = 0; i < in.length; i++) {
          in[i] = step.inputs[i] < 0 ? x : values[step.inputs[i]];
        }
        if (step.kind == Kind.GLOBAL_AVG || step.kind == Kind.GLOBAL_MAX) {
          result = step.kind == Kind.GLOBAL_AVG ? in[0].mean(1, 2) : in[0].max(1, 2);
        } else {
          long[] shape = step.outputShape(in[0].shape());
          held[s] = buffers.take(shape[1] * shape[2] * shape[3]);
          values[s] = held[s].view(shape);
          step.run(in, values[s]);
        }
        // Free what no later step reads (the network input after its last reader too).
        for (int j : step.inputs) {
          if (j < 0 && inputBuffer != null && lastInputUse == s) {
            buffers.give(inputBuffer);
            inputBuffer = null;
          } else if (j >= 0 && steps.get(j).lastUse == s && held[j] != null) {
            buffers.give(held[j]);
            held[j] = null;
          }
        }
      }
      if (result == null) {
        INDArray maps = values[outputStep];
        result = pool ? maps.mean(1, 2) : maps.permute(0, 3, 1, 2).dup('c');
      }
      return result.castTo(DataType.FLOAT);
    } finally {
      for (Buffer b : held) {
        if (b != null) {
          buffers.give(b);
        }
      }
      if (inputBuffer != null) {
        buffers.give(inputBuffer);
      }
    }
  }

  /** Frees the weights and the activation buffers (on the thread that runs the plan). */
  @Override
  public void close() {
    buffers.close();
    steps.forEach(Step::close);
  }

  private enum Kind {
    CONV, MAX_POOL, AVG_POOL, ZERO_PAD, BATCH_NORM, ACTIVATION, ADD, ADD_RELU, GLOBAL_AVG,
    GLOBAL_MAX
  }

  private static final class Step {
    final Kind kind;
    final int[] inputs;
    /** Index of the last step reading this step's output; -1 when none does. */
    int lastUse = -1;
    int[] kernel;
    int[] stride;
    int[] padding;
    int[] dilation;
    int outChannels;
    /** SAME mode: output size ceil(in / stride), padding split as libnd4j and DL4J split it. */
    boolean same;
    boolean includePad;
    /** A convolution's {@code [O, kh, kw, I]} weights; a batch norm's per-channel scale. */
    INDArray weights;
    /** A convolution's bias (null without); a batch norm's beta. */
    INDArray bias;
    /** A batch norm's mean, subtracted before scaling as DL4J does (no cancellation). */
    INDArray mean;
    IActivation activation;

    Step(Kind kind, int[] inputs) {
      this.kind = kind;
      this.inputs = inputs;
    }

    /** NHWC output shape for an NHWC input shape. */
    long[] outputShape(long[] in) {
      return switch (kind) {
        case CONV, MAX_POOL, AVG_POOL -> new long[] {in[0],
            outSize(in[1], 0), outSize(in[2], 1), kind == Kind.CONV ? outChannels : in[3]};
        case ZERO_PAD -> new long[] {in[0], in[1] + padding[0] + padding[1],
            in[2] + padding[2] + padding[3], in[3]};
        default -> in.clone();
      };
    }

    private long outSize(long in, int axis) {
      if (same) {
        return (in + stride[axis] - 1) / stride[axis];
      }
      long k = (long) (kernel[axis] - 1) * dilation[axis] + 1;
      return (in + 2L * padding[axis] - k) / stride[axis] + 1;
    }

    void run(INDArray[] in, INDArray out) {
      switch (kind) {
        case CONV -> {
          DynamicCustomOp.DynamicCustomOpsBuilder op = DynamicCustomOp.builder("conv2d")
              .addInputs(bias == null ? new INDArray[] {in[0], weights}
                  : new INDArray[] {in[0], weights, bias})
              .addOutputs(out)
              // kh, kw, sh, sw, ph, pw, dh, dw, same mode, NHWC, weights [O, kh, kw, I]
              .addIntegerArguments(kernel[0], kernel[1], stride[0], stride[1], padding[0],
                  padding[1], dilation[0], dilation[1], same ? 1 : 0, 1, 2);
          Nd4j.exec(op.build());
          activate(out);
        }
        case MAX_POOL, AVG_POOL -> Nd4j.exec(DynamicCustomOp.builder(
                kind == Kind.MAX_POOL ? "maxpool2d" : "avgpool2d")
            .addInputs(in[0])
            .addOutputs(out)
            // ..., same mode, average divisor counts padding (1) or not (0), NHWC
            .addIntegerArguments(kernel[0], kernel[1], stride[0], stride[1], padding[0],
                padding[1], dilation[0], dilation[1], same ? 1 : 0, includePad ? 1 : 0, 1)
            .build());
        case ZERO_PAD -> {
          out.assign(0);
          out.get(NDArrayIndex.all(),
              NDArrayIndex.interval(padding[0], padding[0] + in[0].size(1)),
              NDArrayIndex.interval(padding[2], padding[2] + in[0].size(2)),
              NDArrayIndex.all()).assign(in[0]);
        }
        case BATCH_NORM -> {
          Nd4j.exec(new BroadcastSubOp(in[0], mean, out, 3));
          Nd4j.exec(new BroadcastMulOp(out, weights, out, 3));
          Nd4j.exec(new BroadcastAddOp(out, bias, out, 3));
        }
        case ACTIVATION -> {
          out.assign(in[0]);
          activate(out);
        }
        case ADD, ADD_RELU -> {
          Nd4j.exec(new AddOp(in[0], in[1], out));
          for (int i = 2; i < in.length; i++) {
            out.addi(in[i]);
          }
          if (kind == Kind.ADD_RELU) {
            Nd4j.exec(new RectifiedLinear(out, out, 0.0));
          }
        }
        default -> throw new IllegalStateException(kind + " has no array step");
      }
    }

    void close() {
      for (INDArray a : new INDArray[] {weights, bias, mean}) {
        if (a != null && a.closeable()) {
          a.close();
        }
      }
    }

    private void activate(INDArray out) {
      if (!(activation instanceof ActivationIdentity)) {
        // DL4J's activations work in place; one that returns a new array is copied back.
        INDArray result = activation.getActivation(out, false);
        if (result != out) {
          out.assign(result);
        }
      }
    }
  }

  /** A kept native array and the batch size it was made for. */
  private static final class Buffer {
    final INDArray data;
    final long perImage;

    Buffer(long perImage, int batch) {
      this.perImage = perImage;
      this.data = Nd4j.createUninitialized(DataType.FLOAT, perImage * batch);
    }

    /** The first {@code shape[0]} images of this buffer as a c-ordered array of that shape. */
    INDArray view(long[] shape) {
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      return data.get(NDArrayIndex.interval(0, n)).reshape('c', shape);
    }
  }

  /**
   * Activation buffers kept between batches. Buffers hold {@code capacity} images; a larger batch
   * than any before drops them all and starts over at the new size.
   */
  private static final class Buffers implements AutoCloseable {
    private final List<Buffer> free = new ArrayList<>();
    private final List<Buffer> all = new ArrayList<>();
    private int capacity;

    void prepare(int batch) {
      if (batch > capacity) {
        close();
        capacity = batch;
      }
    }

    /** A free buffer for {@code perImage} floats per image (best fit), or a new one. */
    Buffer take(long perImage) {
      Buffer best = null;
      for (Buffer b : free) {
        if (b.perImage >= perImage && (best == null || b.perImage < best.perImage)) {
          best = b;
        }
      }
      if (best != null) {
        free.remove(best);
        return best;
      }
      Buffer b = new Buffer(perImage, capacity);
      all.add(b);
      return b;
    }

    void give(Buffer b) {
      free.add(b);
    }

    @Override
    public void close() {
      for (Buffer b : all) {
        if (b.data.closeable()) {
          b.data.close();
        }
      }
      all.clear();
      free.clear();
      capacity = 0;
    }
  }
}
