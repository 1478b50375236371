package org.tessera.spark.embed;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.apache.spark.SparkFiles;
import org.tessera.core.nn.EncoderRequest;
import org.tessera.core.nn.Encoders;
import org.tessera.core.nn.PatchEncoder;

/**
 * One encoder per JVM and encoder choice: loading a ResNet-50 takes seconds and hundreds of MB, so
 * an executor loads it once and every task on that executor shares it (callers serialise use).
 * Weights and model files reach executors through {@code SparkContext.addFile}; a path that exists
 * locally (the driver, local mode) is used as it is.
 */
final class EncoderPool {
  private static final Map<String, PatchEncoder> LOADED = new HashMap<>();

  private EncoderPool() {}

  static synchronized PatchEncoder encoder(EmbedSettings s) throws IOException {
    String key = String.join("|", s.encoder(), s.weights(), s.cutLayer(),
        s.randomInit() ? "random:" + s.seed() : "", Integer.toString(s.inputSize()),
        s.halfPrecision() ? "fp16" : "fp32");
    PatchEncoder e = LOADED.get(key);
    if (e == null) {
      e = Encoders.load(request(s));
      LOADED.put(key, e);
    }
    return e;
  }

  static EncoderRequest request(EmbedSettings s) {
    EncoderRequest r = EncoderRequest.of(isArchitecture(s.encoder()) ? s.encoder()
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
    return r.withHalfPrecision(s.halfPrecision());
  }

  static boolean isArchitecture(String encoder) {
    return Encoders.ARCHITECTURES.contains(encoder);
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
