package org.tessera.core.nn;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.modelimport.keras.KerasModel;
import org.deeplearning4j.nn.modelimport.keras.KerasSequentialModel;
import org.deeplearning4j.nn.modelimport.keras.exceptions.InvalidKerasConfigurationException;
import org.deeplearning4j.nn.modelimport.keras.exceptions.UnsupportedKerasConfigurationException;
import org.deeplearning4j.nn.modelimport.keras.utils.KerasModelBuilder;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Recognises weight and model files by content rather than by extension, so a renamed file still
 * loads and a PyTorch pickle gets a conversion hint instead of a parse error; and loads DL4J and
 * Keras models as computation graphs.
 */
final class ModelFiles {

  private static final String CONVERT_HINT = "convert its state_dict to safetensors with "
      + "core/src/test/resources/org/tessera/core/nn/torch_to_safetensors.py";

  private ModelFiles() {}

  enum Format {
    SAFETENSORS, DL4J_ZIP, KERAS_H5
  }

  /**
   * A loaded network, the image input it expects when the file records it (Keras does, DL4J does
   * not), and the layout its input takes.
   */
  record Loaded(ComputationGraph graph, InputType.InputTypeConvolutional inputType,
      CNN2DFormat inputFormat) {}

  private static final byte[] HDF5_MAGIC = {(byte) 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

  static Format detect(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("weights file " + file + " does not exist");
    }
    byte[] head = new byte[9];
    int n;
    try (InputStream in = Files.newInputStream(file)) {
      n = in.readNBytes(head, 0, head.length);
    }
    if (n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) {
      return zipFormat(file);
    }
    if (n >= 8 && Arrays.equals(Arrays.copyOf(head, 8), HDF5_MAGIC)) {
      return Format.KERAS_H5;
    }
    // Before the pickle test: a header length whose low byte is 0x80 starts like a pickle.
    if (n == 9 && head[8] == '{'
        && ByteBuffer.wrap(head, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong() > 0) {
      return Format.SAFETENSORS;
    }
    if (n >= 1 && (head[0] & 0xff) == 0x80) {
      throw new IllegalArgumentException(file + " is a legacy torch.save pickle, which Java cannot"
          + " read: " + CONVERT_HINT);
    }
    throw new IllegalArgumentException(file + ": unknown weights format; expected torchvision "
        + "safetensors, a DL4J model zip or a Keras .h5");
  }

  private static Format zipFormat(Path file) throws IOException {
    try (ZipFile zip = new ZipFile(file.toFile())) {
      for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements(); ) {
        String name = e.nextElement().getName();
        if (name.equals(ModelSerializer.CONFIGURATION_JSON)) {
          return Format.DL4J_ZIP;
        }
        if (name.endsWith("data.pkl")) {
          throw new IllegalArgumentException(file + " is a torch.save file, which Java cannot "
              + "read: " + CONVERT_HINT);
        }
      }
    }
    throw new IllegalArgumentException(file + " is a zip but not a DL4J model (no "
        + ModelSerializer.CONFIGURATION_JSON + "); save it with ModelSerializer.writeModel");
  }

  static Loaded load(Path file) throws IOException {
    return switch (detect(file)) {
      case DL4J_ZIP -> {
        ComputationGraph graph = loadDl4j(file);
        yield new Loaded(graph, null, inputFormat(graph.getConfiguration()));
      }
      case KERAS_H5 -> loadKeras(file);
      case SAFETENSORS -> throw new IllegalArgumentException(file + " holds weights only; pass "
          + "it as --weights of an architecture (resnet50-trunc, small-cnn)");
    };
  }

  private static ComputationGraph loadDl4j(Path file) throws IOException {
    JsonNode conf;
    try (ZipFile zip = new ZipFile(file.toFile());
        InputStream in = zip.getInputStream(zip.getEntry(ModelSerializer.CONFIGURATION_JSON))) {
      conf = new ObjectMapper().readTree(in);
    }
    // A graph configuration lists vertices; a MultiLayerNetwork's lists per-layer confs.
    if (conf.has("vertices")) {
      return ModelSerializer.restoreComputationGraph(file.toFile(), false);
    }
    return toGraph(ModelSerializer.restoreMultiLayerNetwork(file.toFile(), false));
  }

  /**
   * A MultiLayerNetwork as a graph whose vertices carry the layers' names: DL4J's own conversion
   * numbers them, and users cut at the names they gave (or at DL4J's {@code layer<i>}).
   */
  static ComputationGraph toGraph(MultiLayerNetwork net) {
    Map<String, String> names = new HashMap<>();
    for (int i = 0; i < net.getnLayers(); i++) {
      names.put(String.valueOf(i), net.getLayerWiseConfigurations().getConf(i).getLayer()
          .getLayerName());
    }
    // The conversion copies the parameters, so the network can go now.
    ComputationGraph numbered = net.toComputationGraph();
    net.close();
    if (new HashSet<>(names.values()).size() != names.size()) {
      return numbered;
    }
    ComputationGraphConfiguration conf = numbered.getConfiguration().clone();
    Map<String, GraphVertex> vertices = new LinkedHashMap<>();
    Map<String, List<String>> inputs = new LinkedHashMap<>();
    for (Map.Entry<String, GraphVertex> v : conf.getVertices().entrySet()) {
      String name = names.getOrDefault(v.getKey(), v.getKey());
      if (v.getValue() instanceof LayerVertex lv) {
        lv.getLayerConf().getLayer().setLayerName(name);
      }
      vertices.put(name, v.getValue());
      inputs.put(name, conf.getVertexInputs().get(v.getKey()).stream()
          .map(in -> names.getOrDefault(in, in)).toList());
    }
    conf.setVertices(vertices);
    conf.setVertexInputs(inputs);
    conf.setNetworkOutputs(conf.getNetworkOutputs().stream()
        .map(out -> names.getOrDefault(out, out)).toList());
    conf.setTopologicalOrder(null);
    conf.setTopologicalOrderStr(null);
    ComputationGraph graph = new ComputationGraph(conf);
    graph.init();
    for (Map.Entry<String, String> n : names.entrySet()) {
      for (Map.Entry<String, INDArray> p : graph.getLayer(n.getValue()).paramTable().entrySet()) {
        p.getValue().assign(numbered.getLayer(n.getKey()).getParam(p.getKey()));
      }
    }
    numbered.close();
    return graph;
  }

  private static Loaded loadKeras(Path file) throws IOException {
    try (KerasModelBuilder builder = new KerasModel().modelBuilder()
        .modelHdf5Filename(file.toString()).enforceTrainingConfig(false)) {
      boolean sequential = "Sequential".equals(
          new ObjectMapper().readTree(builder.getModelJson()).path("class_name").asText());
      KerasModel model;
      ComputationGraph graph;
      if (sequential) {
        KerasSequentialModel seq = builder.buildSequential();
        graph = toGraph(seq.getMultiLayerNetwork());
        model = seq;
      } else {
        model = builder.buildModel();
        graph = model.getComputationGraph();
      }
      InputType in = model.getOutputTypes().get(model.getInputLayerNames().get(0));
      InputType.InputTypeConvolutional image =
          in instanceof InputType.InputTypeConvolutional c ? c : null;
      return new Loaded(graph, image,
          image != null ? image.getFormat() : inputFormat(graph.getConfiguration()));
    } catch (InvalidKerasConfigurationException | UnsupportedKerasConfigurationException e) {
      throw new IllegalArgumentException("Keras model " + file + " cannot be imported: "
          + e.getMessage(), e);
    }
  }

  /**
   * The image layout of a graph's input, from the first layer after it that has one: DL4J zips
   * do not record their input type, and nearly all are NCHW.
   */
  private static CNN2DFormat inputFormat(ComputationGraphConfiguration conf) {
    List<String> frontier = List.copyOf(conf.getNetworkInputs());
    while (!frontier.isEmpty()) {
      List<String> next = new ArrayList<>();
      for (var e : conf.getVertexInputs().entrySet()) {
        if (e.getValue().stream().anyMatch(frontier::contains)) {
          CNN2DFormat f = format(conf.getVertices().get(e.getKey()));
          if (f != null) {
            return f;
          }
          next.add(e.getKey());
        }
      }
      frontier = next;
    }
    return CNN2DFormat.NCHW;
  }

  private static CNN2DFormat format(GraphVertex vertex) {
    if (!(vertex instanceof LayerVertex lv)) {
      return null;
    }
    Layer layer = lv.getLayerConf().getLayer();
    if (layer instanceof ConvolutionLayer c) {
      return c.getCnn2dDataFormat();
    } else if (layer instanceof SubsamplingLayer s) {
      return s.getCnn2dDataFormat();
    } else if (layer instanceof BatchNormalization b) {
      return b.getCnn2DFormat();
    } else if (layer instanceof ZeroPaddingLayer z) {
      return z.getDataFormat();
    }
    return null;
  }
}
