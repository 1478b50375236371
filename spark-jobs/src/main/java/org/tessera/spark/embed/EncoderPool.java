package org.tessera.spark.embed;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.SparkEnv;
import org.apache.spark.SparkFiles;
import org.tessera.core.image.TilePreprocessor.PerChannel;
import org.tessera.core.nn.EncoderRequest;
import org.tessera.core.nn.Encoders;
import org.tessera.core.nn.OnnxDevice;
import org.tessera.core.nn.OnnxOptions;
import org.tessera.core.nn.PatchEncoder;

/**
 * One encoder per JVM and encoder choice: loading a ResNet-50 takes seconds and hundreds of MB, so
 * an executor loads it once and every task on that executor shares it (callers serialise use
 * unless the encoder is {@linkplain PatchEncoder#concurrent concurrent}). ONNX encoders are kept
 * per device as well: one session per GPU a multi-GPU executor's tasks are assigned, or one on
 * the CPU. Weights and model files reach executors through {@code SparkContext.addFile}; a path
 * that exists locally (the driver, local mode) is used as it is.
 */
final class EncoderPool {
  private static final Map<String, PatchEncoder> LOADED = new HashMap<>();

  private EncoderPool() {}

  /** The encoder on the driver: ONNX models on the CPU with {@code spark.task.cpus} threads. */
  static PatchEncoder encoder(EmbedSettings s) throws IOException {
    return encoder(s, OnnxDevice.cpu(driverTaskCpus()));
  }

  /** The encoder for these settings; for ONNX the session on {@code device}. */
  static synchronized PatchEncoder encoder(EmbedSettings s, OnnxDevice device)
      throws IOException {
    String key = key(s, device);
    PatchEncoder e = LOADED.get(key);
    if (e == null) {
      e = Encoders.load(request(s, device));
      LOADED.put(key, e);
    }
    return e;
  }

  /** What identifies a loaded encoder: the settings that shape it, and its device for ONNX. */
  static String key(EmbedSettings s, OnnxDevice device) {
    return String.join("|", s.encoder(), s.weights(), s.cutLayer(),
        s.randomInit() ? "random:" + s.seed() : "", Integer.toString(s.inputSize()),
        s.halfPrecision() ? "fp16" : "fp32", s.onnx().toString(),
        isOnnx(s) ? device.key() : "");
  }

  static EncoderRequest request(EmbedSettings s) {
    return request(s, OnnxDevice.cpu(1));
  }

  static EncoderRequest request(EmbedSettings s, OnnxDevice device) {
    EncoderRequest r = EncoderRequest.of(isArchitecture(s.encoder()) || isOnnx(s) ? s.encoder()
        : local(s.encoder()).toString());
    if (!s.weights().isEmpty()) {
      r = r.withWeights(local(s.weights()));
    }
    if (!s.cutLayer().isEmpty()) {
      r = r.withCutLayer(s.cutLayer());
    }
    if (s.randomInit()) {
      r = r.withRandomInit(s.seed());
    }
    if (s.inputSize() > 0) {
      r = r.withInputSize(s.inputSize());
    }
    if (isOnnx(s)) {
      r = r.withOnnx(onnxOptions(s.onnx(), device));
    }
    return r.withHalfPrecision(s.halfPrecision());
  }

  static OnnxOptions onnxOptions(EmbedSettings.Onnx o, OnnxDevice device) {
    OnnxOptions options = OnnxOptions.defaults().withDevice(device).withNormalization(
        o.mean().isEmpty() ? null : PerChannel.parse(o.mean(), "--mean"),
        o.std().isEmpty() ? null : PerChannel.parse(o.std(), "--std"));
    if (!o.config().isEmpty()) {
      options = options.withConfig(local(o.config()));
    }
    if (!o.output().isEmpty()) {
      options = options.withOutput(o.output());
    }
    if (!o.pooling().isEmpty()) {
      options = options.withPooling(o.pooling());
    }
    return options;
  }

  static boolean isArchitecture(String encoder) {
    return Encoders.ARCHITECTURES.contains(encoder);
  }

  static boolean isOnnx(EmbedSettings s) {
    return Encoders.ONNX.equals(s.encoder());
  }

  /** Files the executors need besides the weights: an ONNX model's config. */
  static Optional<String> onnxConfigToShip(EmbedSettings s) {
    if (!isOnnx(s)) {
      return Optional.empty();
    }
    if (!s.onnx().config().isEmpty()) {
      return Optional.of(s.onnx().config());
    }
    return s.weights().isEmpty() ? Optional.empty()
        : org.tessera.core.nn.OnnxEncoder.configBeside(local(s.weights())).map(Path::toString);
  }

  private static int driverTaskCpus() {
    SparkEnv env = SparkEnv.get();
    return env == null ? 1 : Math.max(1, env.conf().getInt("spark.task.cpus", 1));
  }

  /** The local copy of a file the driver shipped with addFile, or the path itself if local. */
  static Path local(String path) {
    Path p = Path.of(path.startsWith("file:") ? java.net.URI.create(path).getPath() : path);
    if (Files.exists(p)) {
      return p;
    }
    String name = new org.apache.hadoop.fs.Path(path).getName();
    return Path.of(SparkFiles.get(name));
  }
}
