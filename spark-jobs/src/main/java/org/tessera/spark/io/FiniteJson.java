package org.tessera.spark.io;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.JsonGeneratorDelegate;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;

/**
 * Pretty-printed JSON in which every NaN or infinite number is written as {@code null}. Jackson
 * writes such values as bare {@code NaN} / {@code Infinity} tokens, which are not JSON and which
 * browsers' {@code JSON.parse} rejects. The substitution happens in the generator, below every
 * serializer, so records, maps, arrays and trees are all covered by this one place.
 */
public final class FiniteJson {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private FiniteJson() {}

  /** {@code value} as UTF-8 JSON with a final newline. */
  public static byte[] bytes(Object value) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator g = new Generator(MAPPER.getFactory().createGenerator(out))) {
      g.setPrettyPrinter(new DefaultPrettyPrinter());
      MAPPER.writeValue(g, value);
    }
    out.write('\n');
    return out.toByteArray();
  }

  /** Writes non-finite floating-point numbers as null; everything else passes through. */
  private static final class Generator extends JsonGeneratorDelegate {
    Generator(JsonGenerator delegate) {
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

    // The delegate's own array method would write each element with its own writeNumber,
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
