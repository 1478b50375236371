package org.tessera.core.nn;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Collection;
import java.util.Map;
import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.params.ConvolutionParamInitializer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A 2D convolution with the parameters and results of DL4J's {@link ConvolutionLayer} but a
 * faster inference forward pass, used by {@link InferenceGraphs} in the graphs encoders run. On
 * the default (oneDNN) build encoders run {@link ChannelsLastGraph} instead; this is the path for
 * builds without oneDNN, half precision and graphs that path does not run.
 *
 * <p>Why: in nd4j-native 1.0.0-M2.1 without oneDNN, DL4J's convolution spends about three
 * quarters of its time in the native {@code im2col} op (measured at a few hundred MB/s, several
 * times slower than the GEMM that follows) and copies the input even for 1x1 convolutions. Here
 * the input stays NCHW and each image is one GEMM against the OIHW weights, {@code [O, C*kh*kw] x
 * [C*kh*kw, oh*ow]}: 1x1 stride-1 convolutions (most of a ResNet bottleneck) read the input in
 * place, and other kernels unfold one image at a time ({@link Im2Col}) into a reused heap buffer
 * with bulk copies, small enough to stay in cache. Training, the CUDA backend and unusual configurations
 * (dilation, SAME padding, NHWC) use DL4J's own implementation.
 */
final class FastConvolution extends ConvolutionLayer {

  /** The same convolution as {@code c}, with this class's forward pass. */
  static FastConvolution of(ConvolutionLayer c) {
    ConvolutionLayer.Builder b = new ConvolutionLayer.Builder(c.getKernelSize())
        .stride(c.getStride())
        .padding(c.getPadding())
        .dilation(c.getDilation())
        .convolutionMode(c.getConvolutionMode())
        .dataFormat(c.getCnn2dDataFormat())
        .hasBias(c.hasBias())
        .nIn(c.getNIn())
        .nOut(c.getNOut())
        .activation(c.getActivationFn())
        .weightInit(c.getWeightInitFn())
        .biasInit(c.getBiasInit())
        .name(c.getLayerName());
    return new FastConvolution(b);
  }

  /**
   * Whether the fast path computes this convolution: on the CPU backend only, since it unfolds
   * images in host memory (on CUDA, DL4J's own layer runs cuDNN).
   */
  static boolean supports(ConvolutionLayer c) {
    return Nd4j.getEnvironment().isCPU()
        && c.getCnn2dDataFormat() == CNN2DFormat.NCHW
        && c.getConvolutionMode() != ConvolutionMode.Same
        && Arrays.equals(c.getDilation(), new int[] {1, 1});
  }

  private FastConvolution(ConvolutionLayer.Builder builder) {
    super(builder);
  }

  /**
   * For DL4J's JSON copy of a configuration (e.g. {@code convertDataType}), which fills the fields
   * after construction.
   */
  private FastConvolution() {
    super(new ConvolutionLayer.Builder());
  }

  @Override
  public org.deeplearning4j.nn.api.Layer instantiate(NeuralNetConfiguration conf,
      Collection<TrainingListener> listeners, int layerIndex, INDArray paramsView,
      boolean initializeParams, DataType networkDataType) {
    Impl layer = new Impl(conf, networkDataType);
    layer.setListeners(listeners);
    layer.setIndex(layerIndex);
    layer.setParamsViewArray(paramsView);
    ParamInitializer init = initializer();
    Map<String, INDArray> params = init.init(conf, paramsView, initializeParams);
    layer.setParamTable(params);
    layer.setConf(conf);
    return layer;
  }

  /**
   * Reused heap buffers per thread (one image, its unfolding, one image's bias planes), grown to
   * the largest layer seen: fresh memory is expensive to touch, far more than copying into it.
   */
  private static final ThreadLocal<float[][]> SCRATCH =
      ThreadLocal.withInitial(() -> new float[][] {new float[0], new float[0], new float[0]});

  static final class Impl extends org.deeplearning4j.nn.layers.convolution.ConvolutionLayer {

    Impl(NeuralNetConfiguration conf, DataType dataType) {
      super(conf, dataType);
    }

    @Override
    protected Pair<INDArray, INDArray> preOutput(boolean training, boolean forBackprop,
        LayerWorkspaceMgr workspaceMgr) {
      if (training || forBackprop || !supports(layerConf()) || dataType != DataType.FLOAT
          || !addressable(input.length()) || !addressable(outputLength())) {
        return super.preOutput(training, forBackprop, workspaceMgr);
      }
      assertInputSet(false);
      validateInputRank();
      validateInputDepth(layerConf().getNIn());
      return new Pair<>(forward(workspaceMgr), null);
    }

    /** Whether an array fits one NIO buffer (int-indexed bytes), as the copies below need. */
    private static boolean addressable(long floats) {
      return floats <= Integer.MAX_VALUE / Float.BYTES;
    }

    private long outputLength() {
      ConvolutionLayer conf = layerConf();
      long[] shape = input.shape();
      long oh = (shape[2] + 2L * conf.getPadding()[0] - conf.getKernelSize()[0])
          / conf.getStride()[0] + 1;
      long ow = (shape[3] + 2L * conf.getPadding()[1] - conf.getKernelSize()[1])
          / conf.getStride()[1] + 1;
      return shape[0] * conf.getNOut() * oh * ow;
    }

    private INDArray forward(LayerWorkspaceMgr mgr) {
      ConvolutionLayer conf = layerConf();
      INDArray x = input.castTo(DataType.FLOAT);
      if (x.ordering() != 'c' || x.offset() != 0 || !Shape.hasDefaultStridesForShape(x)) {
        x = mgr.dup(ArrayType.FF_WORKING_MEM, x, 'c');
      }
      int batch = (int) x.size(0);
      int c = (int) x.size(1);
      int h = (int) x.size(2);
      int w = (int) x.size(3);
      int[] k = conf.getKernelSize();
      int[] s = conf.getStride();
      int[] p = conf.getPadding();
      int oh = (h + 2 * p[0] - k[0]) / s[0] + 1;
      int ow = (w + 2 * p[1] - k[1]) / s[1] + 1;
      int o = (int) conf.getNOut();
      int rows = c * k[0] * k[1];
      int n = oh * ow;

      INDArray weights = getParam(ConvolutionParamInitializer.WEIGHT_KEY).reshape('c', o, rows);
      INDArray z = mgr.createUninitialized(ArrayType.ACTIVATIONS, DataType.FLOAT,
          new long[] {batch, o, oh, ow}, 'c');
      INDArray z3 = z.reshape('c', batch, o, n);
      float[][] scratch = SCRATCH.get();
      boolean bias = conf.hasBias();
      if (bias) {
        fillBias(z, getParam(ConvolutionParamInitializer.BIAS_KEY), batch, o, n, scratch);
      }
      boolean inPlace = k[0] == 1 && k[1] == 1 && s[0] == 1 && s[1] == 1 && p[0] == 0
          && p[1] == 0;
      INDArray col = inPlace ? null
          : mgr.createUninitialized(ArrayType.FF_WORKING_MEM, DataType.FLOAT,
              new long[] {rows, n}, 'c');
      if (!inPlace) {
        grow(scratch, 0, c * h * w);
        grow(scratch, 1, rows * n);
      }
      FloatBuffer in = inPlace ? null : x.data().asNioFloat();
      FloatBuffer colOut = inPlace ? null : col.data().asNioFloat();
      for (int b = 0; b < batch; b++) {
        INDArray rhs;
        if (inPlace) {
          rhs = x.slice(b).reshape('c', c, (long) h * w);
        } else {
          in.get((int) x.offset() + b * c * h * w, scratch[0], 0, c * h * w);
          Im2Col.unfold(scratch[0], 0, c, h, w, k, s, p, scratch[1]);
          colOut.put((int) col.offset(), scratch[1], 0, rows * n);
          rhs = col;
        }
        Nd4j.gemm(weights, rhs, z3.slice(b), false, false, 1.0, bias ? 1.0 : 0.0);
      }
      return z;
    }

    private static void grow(float[][] scratch, int i, int length) {
      if (scratch[i].length < length) {
        scratch[i] = new float[length];
      }
    }

    /** Writes each channel's bias over its output plane, for the GEMM to accumulate onto. */
    private static void fillBias(INDArray z, INDArray bias, int batch, int o, int n,
        float[][] scratch) {
      float[] b = bias.dup('c').data().asFloat();
      grow(scratch, 2, o * n);
      float[] plane = scratch[2];
      for (int ch = 0; ch < o; ch++) {
        Arrays.fill(plane, ch * n, (ch + 1) * n, b[ch]);
      }
      FloatBuffer out = z.data().asNioFloat();
      for (int i = 0; i < batch; i++) {
        out.put((int) z.offset() + i * o * n, plane, 0, o * n);
      }
    }
  }
}
