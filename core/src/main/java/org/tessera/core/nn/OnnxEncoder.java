package org.tessera.core.nn;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.ValueInfo;
import ai.onnxruntime.platform.Fp16Conversions;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.tessera.core.image.TilePreprocessor;
import org.tessera.core.image.TilePreprocessor.PerChannel;

/**
 * A patch encoder in an ONNX model run by ONNX Runtime: any network taking one float (or float16)
 * batch {@code [N, 3, H, W]} and giving an embedding {@code [N, D]} or tokens {@code [N, T, D]},
 * e.g. a ViT foundation model exported from PyTorch by {@code tools/export-onnx}.
 *
 * <p>What the model expects comes from its config (see {@link OnnxModelConfig}), overridden by
 * {@link OnnxOptions}, else from the model itself: the declared input edge (224 when dynamic),
 * ImageNet mean and std, its only output, and for tokens the class token.
 *
 * <p>A session may be run by several threads at once, so tasks sharing one do not wait for each
 * other ({@link #concurrent}); each run uses the {@link OnnxDevice}'s intra-op threads. A float16
 * model gets its input converted from float and its output back.
 */
public final class OnnxEncoder implements PatchEncoder {
  /** Input edge when neither the model, its config nor an option gives one. */
  static final int DEFAULT_INPUT_SIZE = 224;

  private final OrtEnvironment env;
  private final OrtSession session;
  private final String inputName;
  private final boolean halfInput;
  private final String outputName;
  private final boolean halfOutput;
  private final boolean tokens;
  private final String pooling;
  private final int prefixTokens;
  private final int size;
  private final EncoderSpec spec;
  private final TilePreprocessor.Config preprocessing;
  private final Map<String, Object> provenance;
  private final OnnxDevice device;

  private OnnxEncoder(OrtEnvironment env, OrtSession session, String inputName, boolean halfInput,
      String outputName, boolean halfOutput, boolean tokens, String pooling, int prefixTokens,
      int size, EncoderSpec spec, TilePreprocessor.Config preprocessing,
      Map<String, Object> provenance, OnnxDevice device) {
    this.env = env;
    this.session = session;
    this.inputName = inputName;
    this.halfInput = halfInput;
    this.outputName = outputName;
    this.halfOutput = halfOutput;
    this.tokens = tokens;
    this.pooling = pooling;
    this.prefixTokens = prefixTokens;
    this.size = size;
    this.spec = spec;
    this.preprocessing = preprocessing;
    this.provenance = provenance;
    this.device = device;
  }

  /**
   * Loads {@code model} on {@code options.device()} and runs it once on a blank tile, so a model
   * that does not fit fails here with one line naming the file and what was found.
   *
   * @param inputSize input edge from the command line, overriding the config's
   */
  public static OnnxEncoder load(Path model, OnnxOptions options, java.util.OptionalInt inputSize)
      throws IOException {
    if (!Files.isRegularFile(model)) {
      throw new IllegalArgumentException("ONNX model " + model + " does not exist: pass the .onnx "
          + "file with --weights (tools/export-onnx writes one)");
    }
    Optional<Path> configFile = options.config().isPresent() ? options.config()
        : OnnxModelConfig.beside(model);
    OnnxModelConfig config = configFile.isPresent() ? OnnxModelConfig.read(configFile.get())
        : OnnxModelConfig.none();
    options.pooling().ifPresent(p -> OnnxModelConfig.checkPooling(p, "--pooling"));
    String label = "ONNX model " + model;

    OrtEnvironment env = OrtEnvironment.getEnvironment();
    OrtSession session;
    try (OrtSession.SessionOptions so = options.device().sessionOptions()) {
      session = env.createSession(model.toString(), so);
    } catch (OrtException e) {
      throw new IOException(label + " could not be loaded by ONNX Runtime on "
          + options.device().describe() + ": " + oneLine(e), e);
    }
    try {
      return build(model, label, env, session, config, options, inputSize);
    } catch (IOException | RuntimeException e) {
      closeQuietly(session);
      throw e;
    } catch (OrtException e) {
      closeQuietly(session);
      throw new IOException(label + ": " + oneLine(e), e);
    }
  }

  private static OnnxEncoder build(Path model, String label, OrtEnvironment env,
      OrtSession session, OnnxModelConfig config, OnnxOptions options,
      java.util.OptionalInt sizeOption) throws IOException, OrtException {
    Map<String, NodeInfo> inputs = session.getInputInfo();
    if (inputs.size() != 1) {
      throw new IllegalArgumentException(label + " has " + inputs.size() + " inputs "
          + inputs.keySet() + ": a patch encoder takes one [N,3,H,W] float input");
    }
    NodeInfo in = inputs.values().iterator().next();
    TensorInfo inInfo = tensor(in, label, "input");
    long[] inShape = inInfo.getShape();
    boolean halfInput = inInfo.type == OnnxJavaType.FLOAT16;
    if (inInfo.type != OnnxJavaType.FLOAT && !halfInput) {
      throw new IllegalArgumentException(label + " input '" + in.getName() + "' is " + inInfo.type
          + ": a patch encoder takes a float or float16 [N,3,H,W] batch");
    }
    if (inShape.length != 4 || (inShape[1] != 3 && inShape[1] >= 0)) {
      throw new IllegalArgumentException(label + " input '" + in.getName() + "' has shape "
          + shape(inShape) + ": a patch encoder takes an RGB batch [N,3,H,W]");
    }
    if (inShape[0] > 0) {
      throw new IllegalArgumentException(label + " input '" + in.getName() + "' has a fixed batch "
          + "of " + inShape[0] + " " + shape(inShape) + ": export it with a dynamic batch axis "
          + "(tools/export-onnx does)");
    }
    long h = inShape[2];
    long w = inShape[3];
    if (h > 0 && w > 0 && h != w) {
      throw new IllegalArgumentException(label + " takes " + h + "x" + w + " input "
          + shape(inShape) + ": patch encoders take square tiles");
    }
    long declared = h > 0 ? h : w;
    int size;
    String sizeFrom;
    if (sizeOption.isPresent()) {
      size = sizeOption.getAsInt();
      sizeFrom = "--input-size";
    } else if (config.inputSize().isPresent()) {
      size = config.inputSize().getAsInt();
      sizeFrom = "input_size in " + config.file().get();
    } else {
      size = declared > 0 ? (int) declared : DEFAULT_INPUT_SIZE;
      sizeFrom = declared > 0 ? "model" : "default";
    }
    if (declared > 0 && declared != size) {
      throw new IllegalArgumentException(label + " takes " + declared + "x" + declared + " input "
          + shape(inShape) + " but " + sizeFrom + " says " + size + ": drop it or re-export the "
          + "model with a dynamic input size");
    }

    Map<String, NodeInfo> outputs = session.getOutputInfo();
    Optional<String> wanted = options.output().isPresent() ? options.output() : config.output();
    String outName;
    if (wanted.isPresent()) {
      outName = wanted.get();
      if (!outputs.containsKey(outName)) {
        throw new IllegalArgumentException(label + " has no output '" + outName + "' (outputs: "
            + outputs.keySet() + "): fix --onnx-output or \"output\" in its config");
      }
    } else if (outputs.size() == 1) {
      outName = outputs.keySet().iterator().next();
    } else {
      throw new IllegalArgumentException(label + " has outputs " + outputs.keySet()
          + ": name the embedding with --onnx-output or \"output\" in its config");
    }
    TensorInfo outInfo = tensor(outputs.get(outName), label, "output");
    long[] outShape = outInfo.getShape();
    boolean halfOutput = outInfo.type == OnnxJavaType.FLOAT16;
    if (outInfo.type != OnnxJavaType.FLOAT && !halfOutput) {
      throw new IllegalArgumentException(label + " output '" + outName + "' is " + outInfo.type
          + ": the embedding must be float or float16");
    }
    if (outShape.length != 2 && outShape.length != 3) {
      throw new IllegalArgumentException(label + " output '" + outName + "' has shape "
          + shape(outShape) + ": the embedding must be [N,D] or tokens [N,T,D]");
    }
    boolean tokens = outShape.length == 3;
    Optional<String> poolingChoice = options.pooling().isPresent() ? options.pooling()
        : config.pooling();
    if (!tokens && poolingChoice.isPresent()) {
      throw new IllegalArgumentException(label + " output '" + outName + "' is already an "
          + "embedding " + shape(outShape) + ": pooling '" + poolingChoice.get() + "' applies to "
          + "token outputs [N,T,D] only; drop it");
    }
    String pooling = tokens ? poolingChoice.orElse("cls") : "none";
    int prefix = config.prefixTokens().orElse(1);
    PerChannel mean = options.mean().or(config::mean)
        .orElse(TilePreprocessor.Config.IMAGENET_MEAN);
    PerChannel std = options.std().or(config::std).orElse(TilePreprocessor.Config.IMAGENET_STD);

    // One blank tile through the network: the feature length, and any shape error, now.
    OnnxEncoder probe = new OnnxEncoder(env, session, in.getName(), halfInput, outName,
        halfOutput, tokens, pooling, prefix, size, null, null, null, options.device());
    int[] dims = new int[2];
    try {
      probe.run(new float[3 * size * size], 1, dims);
    } catch (OrtException e) {
      throw new IllegalArgumentException(label + " does not run on a 1x3x" + size + "x" + size
          + " input (size from " + sizeFrom + "): " + oneLine(e));
    }
    if (tokens && ("mean".equals(pooling) || "cls+mean".equals(pooling))
        && dims[0] <= prefix) {
      throw new IllegalArgumentException(label + " output '" + outName + "' has " + dims[0]
          + " tokens, no patch tokens after prefix_tokens=" + prefix + " for pooling " + pooling);
    }
    if (tokens && dims[0] < 1) {
      throw new IllegalArgumentException(label + " output '" + outName + "' has no tokens");
    }
    int dim = "cls+mean".equals(pooling) ? 2 * dims[1] : dims[1];
    String precision = halfInput ? "fp16" : "fp32";
    EncoderSpec spec = new EncoderSpec(model.getFileName().toString(), Encoders.sha256(model),
        tokens ? outName + ":" + pooling : outName, size, dim, precision);
    TilePreprocessor.Config pre = TilePreprocessor.Config.of(size, mean, std);

    Map<String, Object> prov = new LinkedHashMap<>();
    prov.put("format", "onnx");
    prov.put("file", model.getFileName().toString());
    prov.put("sha256", spec.weightsSha256());
    prov.put("config", config.file().map(p -> p.getFileName().toString()).orElse("none"));
    prov.put("input", in.getName());
    prov.put("input_type", halfInput ? "float16" : "float32");
    prov.put("input_size", size);
    prov.put("output", outName);
    prov.put("output_shape", shape(outShape));
    prov.put("pooling", pooling);
    if (tokens) {
      prov.put("prefix_tokens", prefix);
    }
    prov.put("mean", mean.toString());
    prov.put("std", std.toString());
    return new OnnxEncoder(env, session, in.getName(), halfInput, outName, halfOutput, tokens,
        pooling, prefix, size, spec, pre, Map.copyOf(prov), options.device());
  }

  /**
   * The model config {@link #load} reads beside {@code model} when none is given:
   * {@code model.onnx.json}, else {@code model.json}.
   */
  public static Optional<Path> configBeside(Path model) {
    return OnnxModelConfig.beside(model);
  }

  @Override
  public EncoderSpec spec() {
    return spec;
  }

  @Override
  public TilePreprocessor.Config preprocessing() {
    return preprocessing;
  }

  @Override
  public Map<String, Object> provenance() {
    return provenance;
  }

  @Override
  public String device() {
    return device.describe();
  }

  /** The device the session was made for. */
  public OnnxDevice onnxDevice() {
    return device;
  }

  @Override
  public boolean concurrent() {
    return true;
  }

  @Override
  public INDArray embed(INDArray batch) {
    if (batch.rank() != 4 || batch.size(1) != 3 || batch.size(2) != size || batch.size(3) != size) {
      throw new IllegalArgumentException("ONNX encoder " + spec.name() + " takes [N,3," + size
          + "," + size + "], got " + Arrays.toString(batch.shape()));
    }
    int n = (int) batch.size(0);
    float[] input = batch.castTo(DataType.FLOAT).dup('c').data().asFloat();
    return Nd4j.create(embed(input, n), new long[] {n, spec.featureDim()}, 'c');
  }

  @Override
  public float[] embed(float[] input, int n) {
    try {
      return run(input, n, null);
    } catch (OrtException e) {
      throw new IllegalStateException("ONNX model " + spec.name() + " failed on a batch of " + n
          + " on " + device.describe() + ": " + oneLine(e), e);
    }
  }

  /**
   * Runs {@code n} tiles and pools; {@code dims}, when given, receives the token count (or 1) and
   * the per-token width.
   */
  private float[] run(float[] input, int n, int[] dims) throws OrtException {
    int per = 3 * size * size;
    if (n < 1 || input.length < n * per) {
      throw new IllegalArgumentException("batch of " + n + " tiles needs " + n * per
          + " floats, got " + input.length);
    }
    long[] inShape = {n, 3, size, size};
    FloatBuffer floats = FloatBuffer.wrap(input, 0, n * per);
    try (OnnxTensor x = halfInput
        ? OnnxTensor.createTensor(env, Fp16Conversions.convertFloatBufferToFp16Buffer(floats),
            inShape, OnnxJavaType.FLOAT16)
        : OnnxTensor.createTensor(env, floats, inShape);
        OrtSession.Result result = session.run(Map.of(inputName, x), Set.of(outputName))) {
      OnnxValue value = result.get(outputName).orElseThrow();
      OnnxTensor out = (OnnxTensor) value;
      long[] shape = out.getInfo().getShape();
      FloatBuffer y = halfOutput
          ? Fp16Conversions.convertFp16BufferToFloatBuffer(out.getShortBuffer())
          : out.getFloatBuffer();
      int t = tokens ? (int) shape[1] : 1;
      int d = (int) shape[shape.length - 1];
      if (shape[0] != n) {
        throw new IllegalStateException("ONNX model " + (spec == null ? "" : spec.name())
            + " returned " + shape[0] + " rows for " + n + " tiles");
      }
      if (dims != null) {
        dims[0] = t;
        dims[1] = d;
      } else if (spec.featureDim() != ("cls+mean".equals(pooling) ? 2 * d : d)) {
        throw new IllegalStateException("ONNX model " + spec.name() + " returned width " + d
            + ", expected " + spec.featureDim());
      }
      return pool(y, n, t, d);
    }
  }

  private float[] pool(FloatBuffer y, int n, int t, int d) {
    if (!tokens) {
      float[] f = new float[n * d];
      y.get(f);
      return f;
    }
    boolean cls = !"mean".equals(pooling);
    boolean mean = !"cls".equals(pooling);
    int width = (cls ? d : 0) + (mean ? d : 0);
    float[] f = new float[n * width];
    double[] sum = new double[d];
    for (int i = 0; i < n; i++) {
      int base = i * t * d;
      int o = i * width;
      if (cls) {
        y.get(base, f, o, d);
        o += d;
      }
      if (mean) {
        Arrays.fill(sum, 0);
        for (int k = prefixTokens; k < t; k++) {
          int row = base + k * d;
          for (int j = 0; j < d; j++) {
            sum[j] += y.get(row + j);
          }
        }
        int count = t - prefixTokens;
        for (int j = 0; j < d; j++) {
          f[o + j] = (float) (sum[j] / count);
        }
      }
    }
    return f;
  }

  @Override
  public void close() {
    closeQuietly(session);
  }

  private static TensorInfo tensor(NodeInfo node, String label, String what) {
    ValueInfo info = node.getInfo();
    if (!(info instanceof TensorInfo t)) {
      throw new IllegalArgumentException(label + " " + what + " '" + node.getName() + "' is "
          + info + ", not a tensor");
    }
    return t;
  }

  static String shape(long[] shape) {
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < shape.length; i++) {
      sb.append(i == 0 ? "" : ",").append(shape[i] < 0 ? "?" : Long.toString(shape[i]));
    }
    return sb.append(']').toString();
  }

  private static String oneLine(Exception e) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    return m.strip().replaceAll("\\s*\\n\\s*", " ");
  }

  private static void closeQuietly(OrtSession s) {
    try {
      s.close();
    } catch (OrtException e) {
      // Closing only frees native memory; nothing to do if it fails.
    }
  }
}
