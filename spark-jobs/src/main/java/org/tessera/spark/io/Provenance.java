package org.tessera.spark.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * What keeps an output folder to one setting across runs. Each stage records the parameters that
 * decide its output (typed records, written through {@link Json}) in a provenance file beside it;
 * a later run over the same folder compares its own parameters with the file's:
 *
 * <ul>
 *   <li>equal: the run resumes, keeping the work already done;
 *   <li>different, without overwrite: refused in one line naming the first differing parameter;
 *   <li>with overwrite (equal or not): everything the earlier run wrote is deleted first, so the
 *       folder holds only what this run makes.
 * </ul>
 *
 * <p>Files written by earlier versions compare as what they mean: keys in camelCase, keys renamed
 * since ({@link #RENAMED}), and a NaN, {@code "NaN"} or infinite value where a parameter is now
 * absent ({@code null}) are all read as the current file would say it. Numbers compare by value,
 * so 16 and 16.0 are the same. Callers hold the output's {@link OutputLock}, so the check and the
 * write are one step between runs.
 */
public final class Provenance {
  /** Keys of earlier versions, as snake_case, that now have another name. */
  static final Map<String, String> RENAMED = Map.of("assume_mpp_or_na_n", "assume_mpp");

  private static final PropertyNamingStrategies.NamingBase SNAKE =
      (PropertyNamingStrategies.NamingBase) PropertyNamingStrategies.SNAKE_CASE;

  private Provenance() {}

  /**
   * What a stage records and how it is refused.
   *
   * @param file           the provenance file's name in the output folder
   * @param what           what a folder with other parameters holds, for the refusal ("tiles made
   *                       with other parameters")
   * @param remedy         what to do instead ("use --overwrite to redo every slide, or another
   *                       --out")
   * @param recordedOnly   top-level keys written for the record but not compared (a file list, how
   *                       far a loop runs)
   */
  public record Kind(String file, String what, String remedy, Set<String> recordedOnly) {}

  /**
   * Claims {@code root} for {@code params}: refuses a folder made with other parameters unless
   * {@code overwrite}, empties it with {@code overwrite}, then records {@code params}.
   *
   * @return whether the folder already held this setting (work done before is kept)
   */
  public static boolean claim(Configuration conf, Path root, Kind kind, Object params,
      boolean overwrite) throws IOException {
    FileSystem fs = root.getFileSystem(conf);
    Path file = new Path(root, kind.file());
    JsonNode wanted = Json.MAPPER.readTree(Json.bytes(params));
    boolean resumes = false;
    if (fs.exists(file)) {
      JsonNode existing = Json.read(conf, file);
      Optional<String> difference = difference(existing, wanted, kind.recordedOnly());
      if (difference.isPresent() && !overwrite) {
        throw new IllegalArgumentException(root + " holds " + kind.what() + " (" + kind.file()
            + ": " + difference.get() + "): " + kind.remedy());
      }
      resumes = difference.isEmpty() && !overwrite;
    }
    if (overwrite) {
      if (!fs.exists(file) && holdsFiles(fs, root)) {
        throw new IllegalArgumentException(root + " holds files but no " + kind.file()
            + ", so it is not an output of this stage and --overwrite does not empty it: pass an"
            + " empty or new --out");
      }
      clear(fs, root, file);
    }
    fs.mkdirs(root);
    if (!resumes || !fs.exists(file) || !Json.read(conf, file).equals(wanted)) {
      Json.write(conf, file, wanted);
    }
    return resumes;
  }

  /**
   * The recorded parameters in {@code file} as the current version writes them, {@code current}
   * giving the keys and absent values to read earlier spellings as; empty when there is no file.
   */
  public static Optional<JsonNode> read(Configuration conf, Path file, JsonNode current)
      throws IOException {
    if (!file.getFileSystem(conf).exists(file)) {
      return Optional.empty();
    }
    return Optional.of(conform(Json.read(conf, file), current));
  }

  /**
   * Where {@code existing} (as read from a provenance file) and {@code wanted} differ, as
   * "key.path was X, now Y"; empty when they record the same parameters.
   */
  static Optional<String> difference(JsonNode existing, JsonNode wanted,
      Set<String> recordedOnly) {
    JsonNode a = conform(existing, wanted);
    if (a instanceof ObjectNode o && wanted instanceof ObjectNode w) {
      ObjectNode ac = o.deepCopy();
      ObjectNode wc = w.deepCopy();
      ac.remove(recordedOnly);
      wc.remove(recordedOnly);
      return firstDifference("", ac, wc);
    }
    return firstDifference("", a, wanted);
  }

  /**
   * {@code existing} with its keys and values spelled as in {@code shape}: a key of {@code shape}
   * is taken as it is, else its snake_case form or later name; a NaN or infinity (number or
   * string) where {@code shape} has null becomes null; a number equal in value to {@code
   * shape}'s becomes {@code shape}'s.
   */
  static JsonNode conform(JsonNode existing, JsonNode shape) {
    if (existing == null) {
      return null;
    }
    if (existing.isObject()) {
      ObjectNode out = Json.MAPPER.createObjectNode();
      Iterator<Map.Entry<String, JsonNode>> fields = existing.fields();
      while (fields.hasNext()) {
        Map.Entry<String, JsonNode> e = fields.next();
        String key = e.getKey();
        if (shape == null || !shape.has(key)) {
          String snake = SNAKE.translate(key);
          key = RENAMED.getOrDefault(snake, snake);
        }
        out.set(key, conform(e.getValue(), shape == null ? null : shape.get(key)));
      }
      return out;
    }
    if (existing.isArray()) {
      ArrayNode out = Json.MAPPER.createArrayNode();
      for (int i = 0; i < existing.size(); i++) {
        out.add(conform(existing.get(i), shape != null && shape.isArray() ? shape.get(i) : null));
      }
      return out;
    }
    if ((shape == null || shape.isNull()) && notFinite(existing)) {
      return NullNode.getInstance();
    }
    if (existing.isNumber() && shape != null && shape.isNumber()
        && existing.decimalValue().compareTo(shape.decimalValue()) == 0) {
      return shape;
    }
    return existing;
  }

  private static boolean notFinite(JsonNode v) {
    if (v.isNumber()) {
      return !Double.isFinite(v.doubleValue());
    }
    return v.isTextual() && Set.of("NaN", "Infinity", "-Infinity").contains(v.textValue());
  }

  private static Optional<String> firstDifference(String at, JsonNode a, JsonNode b) {
    if (a != null && b != null && a.isObject() && b.isObject()) {
      Set<String> keys = new java.util.TreeSet<>();
      a.fieldNames().forEachRemaining(keys::add);
      b.fieldNames().forEachRemaining(keys::add);
      for (String k : keys) {
        Optional<String> d = firstDifference(at.isEmpty() ? k : at + "." + k, a.get(k), b.get(k));
        if (d.isPresent()) {
          return d;
        }
      }
      return Optional.empty();
    }
    // An absent key and a null value both say the parameter is not set.
    boolean aUnset = a == null || a.isNull();
    boolean bUnset = b == null || b.isNull();
    if (aUnset ? bUnset : a.equals(b)) {
      return Optional.empty();
    }
    return Optional.of((at.isEmpty() ? "parameters" : at) + " was " + shorten(a) + ", now "
        + shorten(b));
  }

  private static String shorten(JsonNode v) {
    String s = v == null ? "absent" : v.toString();
    return s.length() <= 80 ? s : s.substring(0, 77) + "...";
  }

  private static boolean holdsFiles(FileSystem fs, Path root) throws IOException {
    if (!fs.exists(root)) {
      return false;
    }
    for (FileStatus st : fs.listStatus(root)) {
      if (!st.getPath().getName().equals(OutputLock.FILE)) {
        return true;
      }
    }
    return false;
  }

  /** Deletes everything in {@code root} but its lock and the provenance file (replaced next). */
  private static void clear(FileSystem fs, Path root, Path keep) throws IOException {
    if (!fs.exists(root)) {
      return;
    }
    for (FileStatus st : fs.listStatus(root)) {
      String name = st.getPath().getName();
      if (name.equals(OutputLock.FILE) || name.equals(keep.getName())
          || name.equals("." + keep.getName() + ".crc")) {
        continue;
      }
      if (!fs.delete(st.getPath(), true) && fs.exists(st.getPath())) {
        throw new IOException("cannot delete " + st.getPath() + " to overwrite " + root);
      }
    }
  }
}
