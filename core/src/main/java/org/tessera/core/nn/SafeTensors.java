package org.tessera.core.nn;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Reader for the safetensors format, the only PyTorch weight format that can be read without
 * Python: {@code torch.save} files are pickles. Layout: an 8-byte little-endian header length, a
 * JSON header {@code {name: {dtype, shape, data_offsets: [begin, end]}}} (plus an optional
 * {@code __metadata__} entry), then the raw little-endian tensor data, offsets counted from the end
 * of the header.
 *
 * <p>Only the header is read when the file is opened; a tensor's bytes are read when it is asked
 * for, so a full ResNet-50 file costs only the tensors the truncated network uses.
 */
public final class SafeTensors implements Closeable {

  /** The tensor types this reader understands; everything else is listed but cannot be read. */
  public enum DType {
    F32(4), F16(2), BF16(2), F64(8), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1);

    final int bytes;

    DType(int bytes) {
      this.bytes = bytes;
    }

    boolean isFloat() {
      return this == F32 || this == F16 || this == BF16 || this == F64;
    }
  }

  /** One header entry; {@code begin}/{@code end} are absolute file offsets. */
  public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {
    public long numel() {
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      return n;
    }
  }

  /** A header larger than this is a corrupt length field, not a real header. */
  private static final long MAX_HEADER_BYTES = 100L << 20;

  private final Path file;
  private final FileChannel channel;
  private final Map<String, TensorInfo> tensors;

  private SafeTensors(Path file, FileChannel channel, Map<String, TensorInfo> tensors) {
    this.file = file;
    this.channel = channel;
    this.tensors = tensors;
  }

  /**
   * Opens a file and validates its header.
   *
   * @throws IllegalArgumentException naming the file when it is not a well-formed safetensors file
   */
  public static SafeTensors open(Path file) throws IOException {
    FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
    try {
      return new SafeTensors(file, channel, readHeader(file, channel));
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  private static Map<String, TensorInfo> readHeader(Path file, FileChannel channel)
      throws IOException {
    long size = channel.size();
    if (size < 8) {
      throw bad(file, "file is " + size + " bytes, shorter than the 8-byte header length");
    }
    long headerLen = readFully(channel, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES || headerLen > size - 8) {
      throw bad(file, "header length " + Long.toUnsignedString(headerLen) + " does not fit a "
          + size + "-byte file (not a safetensors file?)");
    }
    ByteBuffer headerBytes = readFully(channel, 8, (int) headerLen);
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(
          new String(headerBytes.array(), StandardCharsets.UTF_8));
    } catch (JsonProcessingException e) {
      throw bad(file, "header is not valid JSON: " + e.getOriginalMessage());
    }
    if (root == null || !root.isObject()) {
      throw bad(file, "header is not a JSON object");
    }
    long dataStart = 8 + headerLen;
    long dataLen = size - dataStart;
    Map<String, TensorInfo> tensors = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getKey().equals("__metadata__")) {
        continue;
      }
      tensors.put(e.getKey(), parseEntry(file, e.getKey(), e.getValue(), dataStart, dataLen));
    }
    return Collections.unmodifiableMap(tensors);
  }

  private static TensorInfo parseEntry(
      Path file, String name, JsonNode node, long dataStart, long dataLen) {
    JsonNode dtypeNode = node.get("dtype");
    JsonNode shapeNode = node.get("shape");
    JsonNode offsets = node.get("data_offsets");
    if (dtypeNode == null || !dtypeNode.isTextual() || shapeNode == null || !shapeNode.isArray()
        || offsets == null || !offsets.isArray() || offsets.size() != 2) {
      throw bad(file, "tensor '" + name + "' needs dtype, shape and data_offsets [begin, end]");
    }
    DType dtype;
    try {
      dtype = DType.valueOf(dtypeNode.asText());
    } catch (IllegalArgumentException e) {
      throw bad(file, "tensor '" + name + "' has unknown dtype " + dtypeNode.asText());
    }
    long[] shape = new long[shapeNode.size()];
    for (int i = 0; i < shape.length; i++) {
      JsonNode d = shapeNode.get(i);
      if (!d.canConvertToLong() || d.asLong() < 0) {
        throw bad(file, "tensor '" + name + "' has invalid shape " + shapeNode);
      }
      shape[i] = d.asLong();
    }
    long begin = offsets.get(0).asLong(-1);
    long end = offsets.get(1).asLong(-1);
    TensorInfo info = new TensorInfo(name, dtype, shape, dataStart + begin, dataStart + end);
    if (begin < 0 || end < begin || end > dataLen) {
      throw bad(file, "tensor '" + name + "' data_offsets " + offsets + " lie outside the "
          + dataLen + " data bytes (truncated file?)");
    }
    if (end - begin != info.numel() * dtype.bytes) {
      throw bad(file, "tensor '" + name + "' has " + (end - begin) + " bytes but " + dtype
          + " shape " + Arrays.toString(shape) + " needs " + info.numel() * dtype.bytes);
    }
    return info;
  }

  private static IllegalArgumentException bad(Path file, String what) {
    return new IllegalArgumentException("safetensors file " + file + ": " + what);
  }

  private static ByteBuffer readFully(FileChannel channel, long position, int length)
      throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(length);
    while (buf.hasRemaining()) {
      if (channel.read(buf, position + buf.position()) < 0) {
        throw new EOFException("unexpected end of file at byte " + (position + buf.position()));
      }
    }
    return buf.flip();
  }

  public Path file() {
    return file;
  }

  /** Tensor names in header order. */
  public Set<String> names() {
    return tensors.keySet();
  }

  public boolean contains(String name) {
    return tensors.containsKey(name);
  }

  /** @throws IllegalArgumentException naming the file and tensor when there is no such tensor */
  public TensorInfo info(String name) {
    TensorInfo info = tensors.get(name);
    if (info == null) {
      throw bad(file, "no tensor '" + name + "'");
    }
    return info;
  }

  /**
   * A tensor's values as floats in row-major order, converted from F16, BF16 or F64 if needed.
   *
   * @throws IllegalArgumentException for integer or boolean tensors
   */
  public float[] floats(String name) {
    TensorInfo info = info(name);
    if (!info.dtype().isFloat()) {
      throw bad(file, "tensor '" + name + "' has dtype " + info.dtype()
          + "; only F32, F16, BF16 and F64 can be read as floats");
    }
    long n = info.numel();
    if (n * info.dtype().bytes > Integer.MAX_VALUE - 8) {
      throw bad(file, "tensor '" + name + "' is too large to read into one array");
    }
    ByteBuffer buf;
    try {
      buf = readFully(channel, info.begin(), (int) (info.end() - info.begin()))
          .order(ByteOrder.LITTLE_ENDIAN);
    } catch (IOException e) {
      throw new UncheckedIOException("safetensors file " + file + ": cannot read tensor '"
          + name + "': " + e.getMessage(), e);
    }
    float[] out = new float[(int) n];
    switch (info.dtype()) {
      case F32 -> buf.asFloatBuffer().get(out);
      case F64 -> {
        for (int i = 0; i < out.length; i++) {
          out[i] = (float) buf.getDouble(8 * i);
        }
      }
      case BF16 -> {
        for (int i = 0; i < out.length; i++) {
          out[i] = Float.intBitsToFloat((buf.getShort(2 * i) & 0xffff) << 16);
        }
      }
      case F16 -> {
        for (int i = 0; i < out.length; i++) {
          out[i] = halfToFloat(buf.getShort(2 * i));
        }
      }
      default -> throw new AssertionError(info.dtype());
    }
    return out;
  }

  /** IEEE 754 binary16 to binary32, exact for every value including subnormals, inf and NaN. */
  static float halfToFloat(short half) {
    int h = half & 0xffff;
    int sign = (h & 0x8000) << 16;
    int exp = (h >>> 10) & 0x1f;
    int mant = h & 0x3ff;
    if (exp == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
    }
    if (exp == 0) {
      // Subnormal or zero: the value is mant * 2^-24 exactly, which a float represents.
      float magnitude = mant * 0x1p-24f;
      return sign == 0 ? magnitude : -magnitude;
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
