package org.tessera.core.nn;

import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.deeplearning4j.nn.params.ConvolutionParamInitializer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Fills a built-in architecture's parameters from a weight file by name. Every parameter must be
 * found with its exact shape and every entry of the file must be used (or be one the architecture
 * knows to ignore, such as ResNet-50's stage 4), so a file for another network fails loudly
 * instead of giving plausible-looking features.
 */
final class NamedWeights {

  private static final String BN_GAMMA = BatchNormalizationParamInitializer.GAMMA;
  private static final String BN_BETA = BatchNormalizationParamInitializer.BETA;
  private static final String BN_MEAN = BatchNormalizationParamInitializer.GLOBAL_MEAN;
  private static final String BN_VAR = BatchNormalizationParamInitializer.GLOBAL_VAR;

  private NamedWeights() {}

  /**
   * From a PyTorch state_dict: layer {@code L}'s convolution weight is {@code L.weight} (PyTorch's
   * OIHW layout is DL4J's), batch norm {@code L.weight/bias/running_mean/running_var}.
   */
  static void fromStateDict(SafeTensors weights, ComputationGraph graph, Architectures arch) {
    String label = "weights " + weights.file();
    Set<String> used = new HashSet<>();
    for (Layer layer : graph.getLayers()) {
      String name = layer.conf().getLayer().getLayerName();
      org.deeplearning4j.nn.conf.layers.Layer conf = layer.conf().getLayer();
      if (conf instanceof ConvolutionLayer c) {
        copy(weights, name + ".weight", layer, ConvolutionParamInitializer.WEIGHT_KEY, arch, used);
        if (c.hasBias()) {
          copy(weights, name + ".bias", layer, ConvolutionParamInitializer.BIAS_KEY, arch, used);
        }
      } else if (conf instanceof BatchNormalization) {
        copy(weights, name + ".weight", layer, BN_GAMMA, arch, used);
        copy(weights, name + ".bias", layer, BN_BETA, arch, used);
        copy(weights, name + ".running_mean", layer, BN_MEAN, arch, used);
        copy(weights, name + ".running_var", layer, BN_VAR, arch, used);
      } else if (layer.numParams() > 0) {
        throw new IllegalStateException(arch.id + " layer " + name + " ("
            + conf.getClass().getSimpleName() + ") has no PyTorch weight mapping");
      }
    }
    for (String key : weights.names()) {
      // num_batches_tracked is BatchNorm training bookkeeping, meaningless at inference.
      if (!used.contains(key) && !key.endsWith(".num_batches_tracked") && !arch.ignores(key)) {
        throw new IllegalArgumentException(label + ": unexpected tensor '" + key + "' "
            + Arrays.toString(weights.info(key).shape()) + " that " + arch.id
            + " has no place for (" + arch.weightsHint + ")");
      }
    }
  }

  /** The inverse of {@link #fromStateDict}: every parameter under its PyTorch name, row-major. */
  static Map<String, float[]> toStateDict(ComputationGraph graph) {
    Map<String, float[]> state = new LinkedHashMap<>();
    for (Layer layer : graph.getLayers()) {
      String name = layer.conf().getLayer().getLayerName();
      org.deeplearning4j.nn.conf.layers.Layer conf = layer.conf().getLayer();
      if (conf instanceof ConvolutionLayer c) {
        state.put(name + ".weight", floats(layer.getParam(ConvolutionParamInitializer.WEIGHT_KEY)));
        if (c.hasBias()) {
          state.put(name + ".bias", floats(layer.getParam(ConvolutionParamInitializer.BIAS_KEY)));
        }
      } else if (conf instanceof BatchNormalization bn) {
        if (bn.isUseLogStd()) {
          throw new IllegalStateException("layer " + name + " stores log10(std); built-in "
              + "architectures store the variance");
        }
        state.put(name + ".weight", floats(layer.getParam(BN_GAMMA)));
        state.put(name + ".bias", floats(layer.getParam(BN_BETA)));
        state.put(name + ".running_mean", floats(layer.getParam(BN_MEAN)));
        state.put(name + ".running_var", floats(layer.getParam(BN_VAR)));
      } else if (layer.numParams() > 0) {
        throw new IllegalStateException("layer " + name + " ("
            + conf.getClass().getSimpleName() + ") has no PyTorch weight mapping");
      }
    }
    return state;
  }

  private static float[] floats(INDArray param) {
    return param.dup('c').data().asFloat();
  }

  private static void copy(SafeTensors weights, String key, Layer layer, String param,
      Architectures arch, Set<String> used) {
    INDArray target = layer.getParam(param);
    long[] expected = torchShape(target);
    if (!weights.contains(key)) {
      throw new IllegalArgumentException("weights " + weights.file() + ": missing tensor '" + key
          + "' " + Arrays.toString(expected) + " needed by " + arch.id + " (" + arch.weightsHint
          + ")");
    }
    long[] actual = weights.info(key).shape();
    if (!Arrays.equals(actual, expected)) {
      throw new IllegalArgumentException("weights " + weights.file() + ": tensor '" + key
          + "' has shape " + Arrays.toString(actual) + " but " + arch.id + " needs "
          + Arrays.toString(expected) + " (" + arch.weightsHint + ")");
    }
    target.assign(Nd4j.create(weights.floats(key), target.shape(), 'c'));
    used.add(key);
  }

  /** DL4J keeps per-channel vectors as [1, n]; PyTorch as [n]. */
  private static long[] torchShape(INDArray param) {
    return param.isVector() ? new long[] {param.length()} : param.shape();
  }

  /**
   * From a DL4J network (a model zip or an imported Keras model) whose layers carry the
   * architecture's names, e.g. one saved from a graph built by {@link Architectures#build}.
   */
  static void fromGraph(ComputationGraph source, String label, ComputationGraph graph,
      Architectures arch) {
    Set<String> targetNames = new HashSet<>();
    for (Layer layer : graph.getLayers()) {
      String name = layer.conf().getLayer().getLayerName();
      targetNames.add(name);
      if (layer.numParams() == 0) {
        continue;
      }
      GraphVertex v = source.getVertex(name);
      if (v == null || !v.hasLayer()) {
        throw new IllegalArgumentException(label + ": missing layer '" + name + "' needed by "
            + arch.id + " (" + arch.weightsHint + ")");
      }
      Layer from = v.getLayer();
      for (Map.Entry<String, INDArray> p : layer.paramTable().entrySet()) {
        INDArray value = sourceParam(from, p.getKey());
        if (value == null) {
          throw new IllegalArgumentException(label + ": layer '" + name + "' has no parameter '"
              + p.getKey() + "' " + Arrays.toString(p.getValue().shape()) + " needed by "
              + arch.id + " (" + arch.weightsHint + ")");
        }
        if (!Arrays.equals(torchShape(value), torchShape(p.getValue()))) {
          throw new IllegalArgumentException(label + ": layer '" + name + "' parameter '"
              + p.getKey() + "' has shape " + Arrays.toString(value.shape()) + " but " + arch.id
              + " needs " + Arrays.toString(p.getValue().shape()) + " (" + arch.weightsHint + ")");
        }
        p.getValue().assign(value.reshape(p.getValue().shape()));
      }
    }
    for (Layer layer : source.getLayers()) {
      String name = layer.conf().getLayer().getLayerName();
      if (layer.numParams() > 0 && !targetNames.contains(name) && !arch.ignores(name)) {
        throw new IllegalArgumentException(label + ": unexpected layer '" + name + "' that "
            + arch.id + " has no place for (" + arch.weightsHint + ")");
      }
    }
  }

  /** A parameter by key; a batch norm's variance is derived when the source stores log10(std). */
  private static INDArray sourceParam(Layer from, String key) {
    if (key.equals(BN_VAR)
        && from.conf().getLayer() instanceof BatchNormalization bn && bn.isUseLogStd()) {
      double[] scale = InferenceGraphs.batchNormScale(from);
      double[] var = new double[scale.length];
      for (int i = 0; i < var.length; i++) {
        var[i] = 1 / (scale[i] * scale[i]) - bn.getEps();
      }
      return Nd4j.createFromArray(var).castTo(from.getParam(
          BatchNormalizationParamInitializer.GLOBAL_LOG_STD).dataType());
    }
    return from.paramTable().get(key);
  }
}
