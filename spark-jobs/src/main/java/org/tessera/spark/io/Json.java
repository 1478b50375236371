package org.tessera.spark.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.io.IOContext;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.JsonGeneratorDelegate;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.deser.std.NumberDeserializers;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Writer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumFileSystem;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The one JSON mapper of every file the project writes and reads: record components and fields as
 * snake_case keys, and every NaN or infinite number written as {@code null}. Jackson would write
 * such values as {@code "NaN"} strings or bare {@code NaN} tokens; the first reads back as a
 * string, the second is not JSON and browsers' {@code JSON.parse} rejects it. The substitution
 * happens in the generator, below every serializer, so records, maps, arrays and trees are all
 * covered by this one place. Reading accepts bare {@code NaN} tokens, as earlier versions wrote
 * them.
 */
public final class Json {
  public static final ObjectMapper MAPPER = new ObjectMapper(new FiniteFactory())
      .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      // The null a non-finite number was written as reads back as NaN where the value cannot
      // be null (a Double may be, and stays null).
      .registerModule(new SimpleModule("tessera-finite")
          .addDeserializer(double.class,
              new NumberDeserializers.DoubleDeserializer(Double.TYPE, Double.NaN))
          .addDeserializer(float.class,
              new NumberDeserializers.FloatDeserializer(Float.TYPE, Float.NaN)));

  private static final PropertyNamingStrategies.NamingBase SNAKE =
      (PropertyNamingStrategies.NamingBase) PropertyNamingStrategies.SNAKE_CASE;

  private Json() {}

  /** {@code value} as pretty-printed UTF-8 JSON with a final newline. */
  public static byte[] bytes(Object value) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    MAPPER.writer(new DefaultPrettyPrinter()).writeValue(out, value);
    out.write('\n');
    return out.toByteArray();
  }

  /** {@code value} as JSON on one line (JSON Lines). */
  public static String line(Object value) throws IOException {
    return MAPPER.writeValueAsString(value);
  }

  /** Writes {@code value} to {@code file} (any Hadoop file system) in one atomic step. */
  public static void write(Configuration conf, Path file, Object value) throws IOException {
    byte[] bytes = bytes(value);
    AtomicFiles.writeStream(conf, file, o -> o.write(bytes));
  }

  /** The tree in {@code file} (any Hadoop file system). */
  public static JsonNode read(Configuration conf, Path file) throws IOException {
    try (InputStream in = open(conf, file)) {
      return MAPPER.readTree(in);
    }
  }

  /**
   * The value in {@code file} (any Hadoop file system) as {@code type}; a file of an earlier
   * version, whose keys were camelCase, reads the same.
   */
  public static <T> T read(Configuration conf, Path file, Class<T> type) throws IOException {
    return MAPPER.treeToValue(snakeKeys(read(conf, file)), type);
  }

  /**
   * {@code node} with the keys of its objects in snake_case: how a file of an earlier version,
   * whose keys were camelCase, reads as the current one.
   */
  public static JsonNode snakeKeys(JsonNode node) {
    if (node.isObject()) {
      ObjectNode out = MAPPER.createObjectNode();
      node.fields().forEachRemaining(e -> out.set(SNAKE.translate(e.getKey()),
          snakeKeys(e.getValue())));
      return out;
    }
    if (node.isArray()) {
      ArrayNode out = MAPPER.createArrayNode();
      node.forEach(e -> out.add(snakeKeys(e)));
      return out;
    }
    return node;
  }

  /**
   * Opens {@code file} without the local file system's checksum: a JSON file edited by hand
   * (its {@code .crc} no longer matching) is still read, and a damaged one fails as JSON.
   */
  private static InputStream open(Configuration conf, Path file) throws IOException {
    FileSystem fs = file.getFileSystem(conf);
    if (fs instanceof ChecksumFileSystem local) {
      return local.getRawFileSystem().open(file);
    }
    return fs.open(file);
  }

  /** Makes every generator of the mapper a {@link FiniteGenerator}. */
  private static final class FiniteFactory extends JsonFactory {
    private static final long serialVersionUID = 1L;

    FiniteFactory() {
      enable(JsonParser.Feature.ALLOW_NON_NUMERIC_NUMBERS);
    }

    @Override
    public JsonFactory copy() {
      return new FiniteFactory();
    }

    @Override
    protected JsonGenerator _createGenerator(Writer out, IOContext ctxt) throws IOException {
      return new FiniteGenerator(super._createGenerator(out, ctxt));
    }

    @Override
    protected JsonGenerator _createUTF8Generator(OutputStream out, IOContext ctxt)
        throws IOException {
      return new FiniteGenerator(super._createUTF8Generator(out, ctxt));
    }
  }

  /** Writes non-finite floating-point numbers as null; everything else passes through. */
  private static final class FiniteGenerator extends JsonGeneratorDelegate {
    FiniteGenerator(JsonGenerator delegate) {
      super(delegate, false);
    }

    @Override
    public void writeNumber(double v) throws IOException {
      if (Double.isFinite(v)) {
        delegate.writeNumber(v);
      } else {
        delegate.writeNull();
      }
    }

    @Override
    public void writeNumber(float v) throws IOException {
      if (Float.isFinite(v)) {
        delegate.writeNumber(v);
      } else {
        delegate.writeNull();
      }
    }

    // The delegate's own array methods would write each element with its own writeNumber,
    // bypassing the checks above.
    @Override
    public void writeArray(double[] array, int offset, int length) throws IOException {
      writeStartArray(array, length);
      for (int i = offset; i < offset + length; i++) {
        writeNumber(array[i]);
      }
      writeEndArray();
    }
  }
}
