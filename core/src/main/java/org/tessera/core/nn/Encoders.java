package org.tessera.core.nn;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;

/** Loads the {@link PatchEncoder} an {@link EncoderRequest} describes. */
public final class Encoders {

  /** The architecture names {@link EncoderRequest#model()} accepts besides model files. */
  public static final List<String> ARCHITECTURES =
      List.of(Architectures.RESNET50_TRUNC.id, Architectures.SMALL_CNN.id);

  /** The encoder name for an ONNX model, given as the request's weights. */
  public static final String ONNX = "onnx";

  private Encoders() {}

  /**
   * An architecture with its weights (or random ones), or a model file cut at a layer. The result
   * has been run once on a blank tile, so a bad cut layer or input size fails here.
   *
   * @throws IllegalArgumentException with a one-line message naming the file, key or option to
   *     fix when the request cannot be served
   */
  public static PatchEncoder load(EncoderRequest request) throws IOException {
    if (ONNX.equals(request.model())) {
      return loadOnnx(request);
    }
    Architectures arch = Architectures.byId(request.model());
    return arch != null ? loadArchitecture(arch, request) : loadModelFile(request);
  }

  private static PatchEncoder loadArchitecture(Architectures arch, EncoderRequest request)
      throws IOException {
    if (request.weights().isPresent() && request.randomInitSeed().isPresent()) {
      throw new IllegalArgumentException(arch.id + ": pass either --weights or --random-init, "
          + "not both");
    }
    int size = request.inputSize().orElse(arch.defaultInputSize);
    ComputationGraph graph;
    String weightsId;
    if (request.weights().isPresent()) {
      Path file = request.weights().get();
      ModelFiles.Format format = ModelFiles.detect(file);
      // The seed does not matter: every parameter is overwritten from the file.
      graph = arch.build(size, 0);
      try {
        if (format == ModelFiles.Format.SAFETENSORS) {
          try (SafeTensors weights = SafeTensors.open(file)) {
            NamedWeights.fromStateDict(weights, graph, arch);
          }
        } else {
          ComputationGraph source = ModelFiles.load(file).graph();
          try {
            NamedWeights.fromGraph(source, "weights " + file, graph, arch);
          } finally {
            source.close();
          }
        }
      } catch (IOException | RuntimeException e) {
        graph.close();
        throw e;
      }
      weightsId = sha256(file);
    } else if (request.randomInitSeed().isPresent()) {
      long seed = request.randomInitSeed().getAsLong();
      graph = arch.build(size, seed);
      weightsId = "random-init:" + seed;
    } else {
      throw new IllegalArgumentException(arch.id + " needs weights: pass --weights FILE "
          + "(torchvision safetensors, DL4J zip or Keras .h5) or --random-init for an untrained "
          + "network");
    }
    try {
      String cut = request.cutLayer().orElse(null);
      return GraphEncoder.cut(graph, cut == null ? "avgpool" : cut, size, CNN2DFormat.NCHW,
          arch.id, weightsId, cut == null ? arch.cutLayer : cut, arch.id,
          request.halfPrecision());
    } finally {
      graph.close();
    }
  }

  private static PatchEncoder loadOnnx(EncoderRequest request) throws IOException {
    if (request.weights().isEmpty()) {
      throw new IllegalArgumentException("--encoder onnx needs the model: pass --weights "
          + "model.onnx (tools/export-onnx exports one from PyTorch)");
    }
    if (request.randomInitSeed().isPresent() || request.cutLayer().isPresent()) {
      throw new IllegalArgumentException("--encoder onnx: --random-init and --cut-layer do not "
          + "apply (the model carries its weights; name its output with --onnx-output)");
    }
    if (request.halfPrecision()) {
      throw new IllegalArgumentException("--encoder onnx: --half-precision does not apply; "
          + "export a float16 model (tools/export-onnx --fp16), which runs as it is");
    }
    return OnnxEncoder.load(request.weights().get(), request.onnx(), request.inputSize());
  }

  private static PatchEncoder loadModelFile(EncoderRequest request) throws IOException {
    Path file = Path.of(request.model());
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException(request.model().matches(".*[/.].*")
          ? "model file " + file + " does not exist"
          : "unknown encoder '" + request.model() + "': use " + String.join(", ", ARCHITECTURES)
              + " or the path of a model file (DL4J zip, Keras .h5)");
    }
    if (request.weights().isPresent() || request.randomInitSeed().isPresent()) {
      throw new IllegalArgumentException("model file " + file + " carries its own weights: "
          + "--weights and --random-init apply to " + String.join(", ", ARCHITECTURES) + " only");
    }
    ModelFiles.Loaded loaded = ModelFiles.load(file);
    ComputationGraph graph = loaded.graph();
    try {
      String label = "model " + file;
      InputType.InputTypeConvolutional recorded = loaded.inputType();
      if (recorded != null && recorded.getChannels() != 3) {
        throw new IllegalArgumentException(label + " takes " + recorded.getChannels()
            + "-channel input; patch encoders take RGB");
      }
      int size;
      if (request.inputSize().isPresent()) {
        size = request.inputSize().getAsInt();
      } else if (recorded != null && recorded.getHeight() == recorded.getWidth()
          && recorded.getHeight() > 0) {
        size = (int) recorded.getHeight();
      } else {
        throw new IllegalArgumentException(label + " does not record a square input size: pass "
            + "--input-size");
      }
      List<String> outputs = graph.getConfiguration().getNetworkOutputs();
      String cut = request.cutLayer().orElse(outputs.size() == 1 ? outputs.get(0) : null);
      if (cut == null) {
        throw new IllegalArgumentException(label + " has outputs " + outputs
            + ": pass --cut-layer");
      }
      return GraphEncoder.cut(graph, cut, size, loaded.inputFormat(),
          file.getFileName().toString(), sha256(file), cut, label, request.halfPrecision());
    } finally {
      graph.close();
    }
  }

  /** Lower-case hex SHA-256 of a file's bytes: the weights identity in {@link EncoderSpec}. */
  static String sha256(Path file) throws IOException {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
    try (InputStream in = new DigestInputStream(Files.newInputStream(file), digest)) {
      in.transferTo(OutputStream.nullOutputStream());
    }
    return HexFormat.of().formatHex(digest.digest());
  }
}
