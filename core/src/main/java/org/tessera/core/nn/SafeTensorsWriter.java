package org.tessera.core.nn;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.Map;

/**
 * Writes F32 safetensors files that {@link SafeTensors} (and PyTorch's {@code safetensors}
 * package) read, so that weights fine-tuned in Java go back to the embed stage ({@link
 * Encoders#load}) and to PyTorch without a conversion step.
 */
public final class SafeTensorsWriter {

  private SafeTensorsWriter() {}

  /**
   * Writes {@code values} (row-major) with their {@code shapes}, tensors in {@code shapes}' order.
   * The file is written beside its final name and moved into place, so a crash never leaves a
   * truncated file under that name.
   *
   * @throws IllegalArgumentException naming the tensor when a value count does not match its shape
   */
  public static void write(Path file, Map<String, long[]> shapes, Map<String, float[]> values)
      throws IOException {
    ObjectMapper json = new ObjectMapper();
    ObjectNode header = json.createObjectNode();
    long offset = 0;
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      float[] v = values.get(e.getKey());
      long numel = Arrays.stream(e.getValue()).reduce(1, (a, b) -> a * b);
      if (v == null || v.length != numel) {
        throw new IllegalArgumentException("safetensors file " + file + ": tensor '" + e.getKey()
            + "' of shape " + Arrays.toString(e.getValue()) + " has "
            + (v == null ? "no values" : v.length + " values"));
      }
      ObjectNode t = header.putObject(e.getKey());
      t.put("dtype", "F32");
      ArrayNode shape = t.putArray("shape");
      for (long d : e.getValue()) {
        shape.add(d);
      }
      t.putArray("data_offsets").add(offset).add(offset + 4 * numel);
      offset += 4 * numel;
    }
    StringBuilder text = new StringBuilder(json.writeValueAsString(header));
    // Spaces pad the header so tensor data starts 8-byte aligned, as the reference writer does.
    while (text.length() % 8 != 0) {
      text.append(' ');
    }
    byte[] headerBytes = text.toString().getBytes(StandardCharsets.UTF_8);
    Path parent = file.toAbsolutePath().getParent();
    Path tmp = Files.createTempFile(parent, file.getFileName().toString(), ".tmp");
    try {
      try (OutputStream out = Files.newOutputStream(tmp)) {
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
            .putLong(headerBytes.length).array());
        out.write(headerBytes);
        for (String name : shapes.keySet()) {
          float[] v = values.get(name);
          ByteBuffer buf = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
          buf.asFloatBuffer().put(v);
          out.write(buf.array());
        }
      }
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
