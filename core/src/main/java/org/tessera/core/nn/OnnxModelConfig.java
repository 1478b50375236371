package org.tessera.core.nn;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.tessera.core.image.TilePreprocessor.PerChannel;

/**
 * The small JSON written beside an ONNX patch encoder ({@code model.onnx.json} or
 * {@code model.json}), every key optional:
 *
 * <pre>{@code
 * {"input_size": 224, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
 *  "output": "tokens", "pooling": "cls", "prefix_tokens": 1}
 * }</pre>
 *
 * {@code pooling} applies to token outputs {@code [N, T, D]}: {@code cls} takes token 0,
 * {@code mean} averages the patch tokens (those after the {@code prefix_tokens} class and register
 * tokens), {@code cls+mean} concatenates both (Virchow's embedding).
 *
 * @param file         where it was read from; empty when there was none
 * @param inputSize    input edge in pixels
 * @param mean         per-channel mean on [0, 1] RGB
 * @param std          per-channel std on [0, 1] RGB
 * @param output       output name
 * @param pooling      {@code cls}, {@code mean} or {@code cls+mean}
 * @param prefixTokens class and register tokens before the patch tokens (default 1)
 */
record OnnxModelConfig(Optional<Path> file, OptionalInt inputSize, Optional<PerChannel> mean,
    Optional<PerChannel> std, Optional<String> output, Optional<String> pooling,
    OptionalInt prefixTokens) {

  static final List<String> KEYS =
      List.of("input_size", "mean", "std", "output", "pooling", "prefix_tokens");
  static final List<String> POOLINGS = List.of("cls", "mean", "cls+mean");
  private static final ObjectMapper JSON = new ObjectMapper();

  static OnnxModelConfig none() {
    return new OnnxModelConfig(Optional.empty(), OptionalInt.empty(), Optional.empty(),
        Optional.empty(), Optional.empty(), Optional.empty(), OptionalInt.empty());
  }

  /** {@code model.onnx.json}, else {@code model.json}, beside the model; empty if neither. */
  static Optional<Path> beside(Path model) {
    Path dir = model.toAbsolutePath().getParent();
    String name = model.getFileName().toString();
    Path full = dir.resolve(name + ".json");
    if (Files.isRegularFile(full)) {
      return Optional.of(full);
    }
    int dot = name.lastIndexOf('.');
    Path stem = dir.resolve((dot > 0 ? name.substring(0, dot) : name) + ".json");
    return Files.isRegularFile(stem) ? Optional.of(stem) : Optional.empty();
  }

  /**
   * Reads a model config. Unknown keys and ill-typed values fail with one line naming the file
   * and key, so a misspelt key is never silently ignored.
   */
  static OnnxModelConfig read(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("model config " + file + " does not exist");
    }
    JsonNode root;
    try {
      root = JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new IOException("model config " + file + " is not valid JSON: "
          + e.getMessage().lines().findFirst().orElse(""), e);
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("model config " + file + " must be a JSON object with "
          + "keys among " + KEYS);
    }
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String key = it.next();
      if (!KEYS.contains(key)) {
        throw new IllegalArgumentException("model config " + file + ": unknown key '" + key
            + "' (known: " + String.join(", ", KEYS) + ")");
      }
    }
    String where = "model config " + file + ": ";
    OptionalInt size = positiveInt(root, "input_size", where);
    OptionalInt prefix = OptionalInt.empty();
    if (root.has("prefix_tokens")) {
      JsonNode n = root.get("prefix_tokens");
      if (!n.canConvertToExactIntegral() || n.asInt() < 0) {
        throw new IllegalArgumentException(where + "prefix_tokens must be an integer >= 0, got "
            + n);
      }
      prefix = OptionalInt.of(n.asInt());
    }
    Optional<String> pooling = text(root, "pooling", where);
    if (pooling.isPresent()) {
      checkPooling(pooling.get(), where + "pooling");
    }
    return new OnnxModelConfig(Optional.of(file), size, perChannel(root, "mean", where),
        perChannel(root, "std", where), text(root, "output", where), pooling, prefix);
  }

  static void checkPooling(String pooling, String what) {
    if (!POOLINGS.contains(pooling)) {
      throw new IllegalArgumentException(what + " '" + pooling + "': use one of "
          + String.join(", ", POOLINGS));
    }
  }

  private static OptionalInt positiveInt(JsonNode root, String key, String where) {
    if (!root.has(key)) {
      return OptionalInt.empty();
    }
    JsonNode n = root.get(key);
    if (!n.canConvertToExactIntegral() || n.asInt() <= 0) {
      throw new IllegalArgumentException(where + key + " must be a positive integer, got " + n);
    }
    return OptionalInt.of(n.asInt());
  }

  private static Optional<String> text(JsonNode root, String key, String where) {
    if (!root.has(key)) {
      return Optional.empty();
    }
    JsonNode n = root.get(key);
    if (!n.isTextual() || n.asText().isBlank()) {
      throw new IllegalArgumentException(where + key + " must be a non-empty string, got " + n);
    }
    return Optional.of(n.asText());
  }

  private static Optional<PerChannel> perChannel(JsonNode root, String key, String where) {
    if (!root.has(key)) {
      return Optional.empty();
    }
    JsonNode n = root.get(key);
    if (!n.isArray() || n.size() != 3 || !n.get(0).isNumber() || !n.get(1).isNumber()
        || !n.get(2).isNumber()) {
      throw new IllegalArgumentException(where + key + " must be three numbers [red, green, blue],"
          + " got " + n);
    }
    return Optional.of(new PerChannel(n.get(0).floatValue(), n.get(1).floatValue(),
        n.get(2).floatValue()));
  }
}
