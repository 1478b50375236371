package org.tessera.core.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {

  @TempDir Path dir;

  /** A tensor for {@link #write}: raw little-endian bytes under a dtype and shape. */
  record Raw(String dtype, long[] shape, byte[] data) {}

  /** Writes a safetensors file the way the format specifies, with a metadata entry. */
  static Path write(Path file, Map<String, Raw> tensors) throws IOException {
    StringBuilder header = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
    ByteArrayOutputStream data = new ByteArrayOutputStream();
    for (Map.Entry<String, Raw> e : tensors.entrySet()) {
      Raw t = e.getValue();
      StringBuilder shape = new StringBuilder();
      for (long d : t.shape()) {
        shape.append(shape.length() == 0 ? "" : ",").append(d);
      }
      header.append(",\"").append(e.getKey()).append("\":{\"dtype\":\"").append(t.dtype())
          .append("\",\"shape\":[").append(shape).append("],\"data_offsets\":[")
          .append(data.size()).append(',').append(data.size() + t.data().length).append("]}");
      data.write(t.data());
    }
    return writeRaw(file, header.append('}').toString(), data.toByteArray());
  }

  static Path writeRaw(Path file, String header, byte[] data) throws IOException {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer buf = ByteBuffer.allocate(8 + h.length + data.length)
        .order(ByteOrder.LITTLE_ENDIAN);
    buf.putLong(h.length).put(h).put(data);
    Files.write(file, buf.array());
    return file;
  }

  static Raw f32(long[] shape, float... values) {
    ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) {
      b.putFloat(v);
    }
    return new Raw("F32", shape, b.array());
  }

  private static Raw shorts(String dtype, int... values) {
    ByteBuffer b = ByteBuffer.allocate(2 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    for (int v : values) {
      b.putShort((short) v);
    }
    return new Raw(dtype, new long[] {values.length}, b.array());
  }

  @Test
  void readsFloatDtypesAsFloats() throws IOException {
    ByteBuffer f64 = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
        .putDouble(0.1).putDouble(-3e40);
    ByteBuffer i64 = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(1000);
    Map<String, Raw> tensors = new LinkedHashMap<>();
    tensors.put("w", f32(new long[] {2, 3}, 1, -2, 3.5f, 0, Float.MIN_VALUE, 1e30f));
    // 1, -2, 65504 (max), 2^-24 (smallest subnormal), 1023 * 2^-24 (largest subnormal), -0, inf
    tensors.put("h", shorts("F16", 0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x8000, 0x7c00));
    // 1, -2.5, 1e38 rounded to bfloat16 (0x7e96 = 9.9700e37)
    tensors.put("b", shorts("BF16", 0x3f80, 0xc020, 0x7e96));
    tensors.put("d", new Raw("F64", new long[] {2}, f64.array()));
    tensors.put("n", new Raw("I64", new long[] {}, i64.array()));
    tensors.put("empty", new Raw("F32", new long[] {0, 4}, new byte[0]));
    try (SafeTensors st = SafeTensors.open(write(dir.resolve("t.safetensors"), tensors))) {
      assertEquals(List.of("w", "h", "b", "d", "n", "empty"), List.copyOf(st.names()));
      assertArrayEquals(new long[] {2, 3}, st.info("w").shape());
      assertArrayEquals(new float[] {1, -2, 3.5f, 0, Float.MIN_VALUE, 1e30f}, st.floats("w"));
      float[] h = st.floats("h");
      assertArrayEquals(new float[] {1, -2, 65504, 0x1p-24f, 1023 * 0x1p-24f, -0f,
          Float.POSITIVE_INFINITY}, h);
      assertEquals(Float.floatToIntBits(-0f), Float.floatToIntBits(h[5]));
      assertTrue(Float.isNaN(SafeTensors.halfToFloat((short) 0x7e00)));
      assertArrayEquals(new float[] {1, -2.5f, Float.intBitsToFloat(0x7e960000)}, st.floats("b"));
      assertArrayEquals(new float[] {0.1f, Float.NEGATIVE_INFINITY}, st.floats("d"));
      assertEquals(SafeTensors.DType.I64, st.info("n").dtype());
      assertEquals(0, st.floats("empty").length);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> st.floats("n"));
      assertTrue(e.getMessage().contains("tensor 'n' has dtype I64"), e.getMessage());
      e = assertThrows(IllegalArgumentException.class, () -> st.info("missing"));
      assertTrue(e.getMessage().contains("no tensor 'missing'"), e.getMessage());
    }
  }

  @Test
  void everyNormalHalfConvertsLikeAWideningCast() {
    for (int bits = 0; bits < 0x10000; bits++) {
      int exp = (bits >>> 10) & 0x1f;
      if (exp == 0 || exp == 0x1f) {
        continue;
      }
      double expected = Math.pow(2, exp - 15) * (1 + (bits & 0x3ff) / 1024.0)
          * ((bits & 0x8000) != 0 ? -1 : 1);
      assertEquals((float) expected, SafeTensors.halfToFloat((short) bits), 0f);
    }
  }

  @Test
  void rejectsBrokenFilesWithTheirName() throws IOException {
    byte[] four = new byte[16];
    assertBroken(writeRaw(dir.resolve("json.st"), "{\"a\": [", new byte[0]),
        "header is not valid JSON");
    assertBroken(writeRaw(dir.resolve("array.st"), "[1, 2]", new byte[0]),
        "header is not a JSON object");
    assertBroken(writeRaw(dir.resolve("dtype.st"),
        "{\"a\":{\"dtype\":\"F8\",\"shape\":[1],\"data_offsets\":[0,1]}}", new byte[1]),
        "tensor 'a' has unknown dtype F8");
    assertBroken(writeRaw(dir.resolve("range.st"),
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]}}", four),
        "lie outside the 16 data bytes");
    assertBroken(writeRaw(dir.resolve("size.st"),
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", four),
        "tensor 'a' has 16 bytes but F32 shape [3] needs 12");
    assertBroken(writeRaw(dir.resolve("fields.st"), "{\"a\":{\"dtype\":\"F32\"}}", four),
        "tensor 'a' needs dtype, shape and data_offsets");
    Path tiny = Files.write(dir.resolve("tiny.st"), new byte[] {1, 2, 3});
    assertBroken(tiny, "shorter than the 8-byte header length");
    // A pickle read as safetensors: the "header length" is garbage.
    Path pickle = Files.write(dir.resolve("model.pth"),
        new byte[] {(byte) 0x80, 2, 'c', 'c', 'o', 'l', 'l', 'e', 'c', 't', 'i', 'o', 'n', 's'});
    assertBroken(pickle, "does not fit a 14-byte file");
  }

  private static void assertBroken(Path file, String expected) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SafeTensors.open(file).close());
    assertTrue(e.getMessage().startsWith("safetensors file " + file + ": "), e.getMessage());
    assertTrue(e.getMessage().contains(expected), e.getMessage());
    assertEquals(1, e.getMessage().lines().count(), e.getMessage());
  }

  @Test
  void namesAreInHeaderOrderAndMetadataIsNotATensor() throws IOException {
    Map<String, Raw> tensors = new LinkedHashMap<>();
    tensors.put("z", f32(new long[] {1}, 1));
    tensors.put("a", f32(new long[] {1}, 2));
    try (SafeTensors st = SafeTensors.open(write(dir.resolve("o.safetensors"), tensors))) {
      assertEquals(List.of("z", "a"), List.copyOf(st.names()));
      assertEquals(Set.of("z", "a"), st.names());
    }
  }
}
