package org.tessera.core.nn;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CacheMode;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.deeplearning4j.nn.params.ConvolutionParamInitializer;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Rewrites a trained graph into the cheapest graph with the same features: everything the cut
 * layer does not depend on is dropped (a classifier head, a later stage); every
 * convolution → batch norm (→ activation) chain becomes one convolution with a bias, because DL4J
 * runs batch norm and activation layers as separate passes over the activations (each a copy);
 * a residual Add followed by a ReLU becomes one {@link AddRelu} vertex, for the same reason; and
 * convolutions get {@link FastConvolution}'s forward pass.
 *
 * <p>Folding is exact up to float rounding: with {@code s = gamma / sqrt(var + eps)}, BN(conv(x))
 * equals a convolution with weights {@code W * s} (per output channel) and bias
 * {@code (b - mean) * s + beta}. A folded chain keeps the name of its last layer, whose output
 * it computes, so every layer name that still exists means the same activations.
 */
final class InferenceGraphs {

  private InferenceGraphs() {}

  /**
   * A new graph computing {@code output} from the single image input of {@code source}, with
   * parameters copied or folded from it. {@code source} is left untouched.
   *
   * @param label names the model in errors, e.g. its file
   */
  static ComputationGraph prepare(ComputationGraph source, String output, String label) {
    // A deep copy: vertices and their layer configurations can be changed freely.
    ComputationGraphConfiguration conf = source.getConfiguration().clone();
    Map<String, GraphVertex> vertices = conf.getVertices();
    Map<String, List<String>> inputs = conf.getVertexInputs();
    if (!vertices.containsKey(output)) {
      throw new IllegalArgumentException(label + ": no layer '" + output + "'; layers are "
          + abbreviate(vertices.keySet()));
    }
    Set<String> needed = ancestors(inputs, output);
    vertices.keySet().retainAll(needed);
    inputs.keySet().retainAll(needed);
    List<String> networkInputs = new ArrayList<>(conf.getNetworkInputs());
    networkInputs.retainAll(needed);
    if (networkInputs.size() != 1) {
      throw new IllegalArgumentException(label + ": layer '" + output + "' depends on "
          + networkInputs.size() + " network inputs " + networkInputs
          + "; a patch encoder has exactly one image input");
    }
    conf.setNetworkInputs(networkInputs);
    conf.setNetworkOutputs(List.of(output));
    for (Map.Entry<String, GraphVertex> v : vertices.entrySet()) {
      if (v.getValue() instanceof LayerVertex lv) {
        lv.setOutputVertex(v.getKey().equals(output));
      }
    }
    List<Fold> folds = findFolds(source, conf);
    for (Fold f : folds) {
      f.rewrite(conf);
    }
    fuseAddRelu(conf);
    for (Map.Entry<String, GraphVertex> v : vertices.entrySet()) {
      // Exactly ConvolutionLayer: its subclasses (1D, depthwise, ...) compute something else.
      if (v.getValue() instanceof LayerVertex lv
          && lv.getLayerConf().getLayer().getClass() == ConvolutionLayer.class
          && FastConvolution.supports((ConvolutionLayer) lv.getLayerConf().getLayer())) {
        lv.getLayerConf().setLayer(
            FastConvolution.of((ConvolutionLayer) lv.getLayerConf().getLayer()));
      }
    }
    // The cached order refers to vertices that may be gone; DL4J recomputes it when absent.
    conf.setTopologicalOrder(null);
    conf.setTopologicalOrderStr(null);
    conf.setInferenceWorkspaceMode(WorkspaceMode.ENABLED);
    conf.setCacheMode(CacheMode.NONE);

    ComputationGraph target = new ComputationGraph(conf);
    target.init();
    Map<String, Fold> foldByName = new HashMap<>();
    for (Fold f : folds) {
      foldByName.put(f.name, f);
    }
    for (Layer layer : target.getLayers()) {
      String name = layer.conf().getLayer().getLayerName();
      Fold fold = foldByName.get(name);
      if (fold != null) {
        fold.setParams(source, layer);
      } else {
        for (Map.Entry<String, INDArray> p : layer.paramTable().entrySet()) {
          p.getValue().assign(source.getLayer(name).getParam(p.getKey()));
        }
      }
    }
    return target;
  }

  private static Set<String> ancestors(Map<String, List<String>> inputs, String output) {
    Set<String> seen = new LinkedHashSet<>();
    Deque<String> todo = new ArrayDeque<>(List.of(output));
    while (!todo.isEmpty()) {
      String v = todo.pop();
      if (seen.add(v)) {
        todo.addAll(inputs.getOrDefault(v, List.of()));
      }
    }
    return seen;
  }

  private static String abbreviate(Set<String> names) {
    List<String> list = new ArrayList<>(names);
    return list.size() <= 12
        ? String.join(", ", list)
        : String.join(", ", list.subList(0, 6)) + ", ..., "
            + String.join(", ", list.subList(list.size() - 6, list.size()));
  }

  /** A convolution, the batch norm after it and optionally the activation after that. */
  private record Fold(String conv, String bn, String activation, String name) {

    void rewrite(ComputationGraphConfiguration conf) {
      Map<String, GraphVertex> vertices = conf.getVertices();
      Map<String, List<String>> inputs = conf.getVertexInputs();
      LayerVertex merged = (LayerVertex) vertices.get(conv);
      ConvolutionLayer layer = (ConvolutionLayer) merged.getLayerConf().getLayer();
      layer.setLayerName(name);
      layer.setHasBias(true);
      if (activation != null) {
        layer.setActivationFn(activationLayer(vertices.get(activation)).getActivationFn());
      }
      merged.getLayerConf().clearVariables();
      merged.setOutputVertex(conf.getNetworkOutputs().contains(name));
      List<String> convInputs = inputs.get(conv);
      for (String gone : new String[] {conv, bn, activation}) {
        if (gone != null) {
          vertices.remove(gone);
          inputs.remove(gone);
        }
      }
      vertices.put(name, merged);
      inputs.put(name, convInputs);
    }

    void setParams(ComputationGraph source, Layer target) {
      Layer c = source.getLayer(conv);
      BatchNormTerms bnTerms = batchNormTerms(source.getLayer(bn));
      double[] scale = bnTerms.scale();
      INDArray w = c.getParam(ConvolutionParamInitializer.WEIGHT_KEY);
      double[] convBias = ((ConvolutionLayer) c.conf().getLayer()).hasBias()
          ? vector(c.getParam(ConvolutionParamInitializer.BIAS_KEY))
          : new double[scale.length];
      float[] weights = w.dup('c').data().asFloat();
      int perChannel = weights.length / scale.length;
      float[] bias = new float[scale.length];
      for (int o = 0; o < scale.length; o++) {
        for (int j = o * perChannel; j < (o + 1) * perChannel; j++) {
          weights[j] = (float) (weights[j] * scale[o]);
        }
        bias[o] = (float) ((convBias[o] - bnTerms.mean()[o]) * scale[o] + bnTerms.beta()[o]);
      }
      INDArray targetW = target.getParam(ConvolutionParamInitializer.WEIGHT_KEY);
      INDArray targetB = target.getParam(ConvolutionParamInitializer.BIAS_KEY);
      targetW.assign(Nd4j.create(weights, w.shape(), 'c'));
      targetB.assign(Nd4j.create(bias, targetB.shape(), 'c'));
    }
  }

  private static List<Fold> findFolds(ComputationGraph source, ComputationGraphConfiguration conf) {
    Map<String, GraphVertex> vertices = conf.getVertices();
    Map<String, List<String>> consumers = new HashMap<>();
    for (Map.Entry<String, List<String>> e : conf.getVertexInputs().entrySet()) {
      for (String in : e.getValue()) {
        consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(e.getKey());
      }
    }
    List<String> outputs = conf.getNetworkOutputs();
    List<Fold> folds = new ArrayList<>();
    for (Map.Entry<String, GraphVertex> e : vertices.entrySet()) {
      String bn = e.getKey();
      if (!(e.getValue() instanceof LayerVertex bnVertex)
          || !(bnVertex.getLayerConf().getLayer() instanceof BatchNormalization bnConf)
          || bnVertex.getPreProcessor() != null) {
        continue;
      }
      List<String> bnInputs = conf.getVertexInputs().get(bn);
      String conv = bnInputs.size() == 1 ? bnInputs.get(0) : null;
      if (!(vertices.get(conv) instanceof LayerVertex convVertex)
          || convVertex.getLayerConf().getLayer().getClass() != ConvolutionLayer.class
          || !List.of(bn).equals(consumers.get(conv))
          || outputs.contains(conv)) {
        continue;
      }
      ConvolutionLayer convConf = (ConvolutionLayer) convVertex.getLayerConf().getLayer();
      int[] k = convConf.getKernelSize();
      long[] expected = {convConf.getNOut(), convConf.getNIn(), k[0], k[1]};
      if (!(convConf.getActivationFn() instanceof ActivationIdentity)
          || convConf.getCnn2dDataFormat() != bnConf.getCnn2DFormat()
          || !Arrays.equals(expected,
              source.getLayer(conv).getParam(ConvolutionParamInitializer.WEIGHT_KEY).shape())) {
        continue;
      }
      List<String> bnConsumers = consumers.getOrDefault(bn, List.of());
      String act = null;
      if (bnConsumers.size() == 1 && !outputs.contains(bn)
          && activationLayer(vertices.get(bnConsumers.get(0))) != null) {
        act = bnConsumers.get(0);
      }
      folds.add(new Fold(conv, bn, act, act != null ? act : bn));
    }
    return folds;
  }

  /**
   * Replaces every element-wise Add of two inputs whose only consumer is a ReLU activation layer
   * with one {@link AddRelu} vertex named after the activation (whose output it computes); the
   * Add's name disappears, as a folded batch norm's does.
   */
  private static void fuseAddRelu(ComputationGraphConfiguration conf) {
    Map<String, GraphVertex> vertices = conf.getVertices();
    Map<String, List<String>> inputs = conf.getVertexInputs();
    Map<String, List<String>> consumers = new HashMap<>();
    for (Map.Entry<String, List<String>> e : inputs.entrySet()) {
      for (String in : e.getValue()) {
        consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(e.getKey());
      }
    }
    for (String add : new ArrayList<>(vertices.keySet())) {
      List<String> addConsumers = consumers.getOrDefault(add, List.of());
      if (!(vertices.get(add) instanceof ElementWiseVertex ew)
          || ew.getOp() != ElementWiseVertex.Op.Add
          || ew.getClass() != ElementWiseVertex.class
          || inputs.get(add).size() != 2
          || addConsumers.size() != 1
          || conf.getNetworkOutputs().contains(add)) {
        continue;
      }
      String act = addConsumers.get(0);
      ActivationLayer a = activationLayer(vertices.get(act));
      if (a == null || !(a.getActivationFn() instanceof ActivationReLU)) {
        continue;
      }
      vertices.put(act, new AddRelu());
      inputs.put(act, inputs.get(add));
      vertices.remove(add);
      inputs.remove(add);
    }
  }

  private static ActivationLayer activationLayer(GraphVertex v) {
    return v instanceof LayerVertex lv && lv.getPreProcessor() == null
        && lv.getLayerConf().getLayer() instanceof ActivationLayer a ? a : null;
  }

  /**
   * An inference batch norm's per-channel terms: {@code BN(x) = (x - mean) * scale + beta} with
   * {@code scale = gamma / sqrt(var + eps)}.
   */
  record BatchNormTerms(double[] mean, double[] scale, double[] beta) {}

  static BatchNormTerms batchNormTerms(Layer bn) {
    BatchNormalization conf = (BatchNormalization) bn.conf().getLayer();
    double[] scale = batchNormScale(bn);
    double[] gamma = conf.isLockGammaBeta()
        ? filled(scale.length, conf.getGamma())
        : vector(bn.getParam(BatchNormalizationParamInitializer.GAMMA));
    double[] beta = conf.isLockGammaBeta()
        ? filled(scale.length, conf.getBeta())
        : vector(bn.getParam(BatchNormalizationParamInitializer.BETA));
    for (int i = 0; i < scale.length; i++) {
      scale[i] *= gamma[i];
    }
    return new BatchNormTerms(
        vector(bn.getParam(BatchNormalizationParamInitializer.GLOBAL_MEAN)), scale, beta);
  }

  /**
   * {@code 1 / sqrt(var + eps)} per channel, whichever way the layer stores its variance. A layer
   * storing {@code log10(std)} means {@code var = std^2}: DL4J squares the stored std and still
   * adds eps at inference, so eps is added here too.
   */
  static double[] batchNormScale(Layer bn) {
    BatchNormalization conf = (BatchNormalization) bn.conf().getLayer();
    double[] scale;
    if (conf.isUseLogStd()) {
      scale = vector(bn.getParam(BatchNormalizationParamInitializer.GLOBAL_LOG_STD));
      for (int i = 0; i < scale.length; i++) {
        double std = Math.pow(10, scale[i]);
        scale[i] = 1 / Math.sqrt(std * std + conf.getEps());
      }
    } else {
      scale = vector(bn.getParam(BatchNormalizationParamInitializer.GLOBAL_VAR));
      for (int i = 0; i < scale.length; i++) {
        scale[i] = 1 / Math.sqrt(scale[i] + conf.getEps());
      }
    }
    return scale;
  }

  private static double[] filled(int n, double value) {
    double[] a = new double[n];
    Arrays.fill(a, value);
    return a;
  }

  static double[] vector(INDArray a) {
    return a.dup('c').data().asDouble();
  }
}
