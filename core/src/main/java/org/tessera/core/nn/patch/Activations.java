package org.tessera.core.nn.patch;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Per-thread free lists of large float arrays, so that the activations and gradients of one
 * training step reuse the native memory of the previous step's.
 *
 * <p>Why: a fresh nd4j-native array costs about 4 ms per MB here (libnd4j's allocation touches
 * every page, and page faults are slow on these machines), about a second per small-cnn step of
 * batch 32, more than all its convolutions. Modules take their outputs from {@link #create};
 * containers hand the arrays they would close to {@link #release}, which keeps them for the next
 * array of the same shape. Small arrays and views are simply closed.
 */
final class Activations {

  /** Smaller arrays are cheap to allocate and not kept. */
  private static final long MIN_FLOATS = 1 << 20;

  /** Most bytes kept per thread; beyond it released arrays are closed. */
  private static final long MAX_BYTES = 1L << 30;

  private static final ThreadLocal<Pool> POOL = ThreadLocal.withInitial(Pool::new);

  private Activations() {}

  /** An uninitialised C-order float array, recycled when one of this shape is free. */
  static INDArray create(long... shape) {
    ArrayDeque<INDArray> free = POOL.get().free.get(Arrays.toString(shape));
    if (free != null && !free.isEmpty()) {
      INDArray a = free.pop();
      POOL.get().bytes -= a.length() * Float.BYTES;
      return a;
    }
    return Nd4j.createUninitialized(DataType.FLOAT, shape);
  }

  /** Ends the caller's use of {@code a}: kept for {@link #create} or closed; null is ignored. */
  static void release(INDArray a) {
    if (a == null) {
      return;
    }
    Pool pool = POOL.get();
    long bytes = a.length() * Float.BYTES;
    if (a.isView() || !a.closeable() || a.dataType() != DataType.FLOAT || a.ordering() != 'c'
        || a.length() < MIN_FLOATS || pool.bytes + bytes > MAX_BYTES) {
      a.close();
      return;
    }
    pool.free.computeIfAbsent(Arrays.toString(a.shape()), k -> new ArrayDeque<>()).push(a);
    pool.bytes += bytes;
  }

  /**
   * {@code a} itself when it is a zero-offset C-order array (what the modules' bulk copies index),
   * else a C-order copy.
   */
  static INDArray contiguous(INDArray a) {
    if (a.ordering() == 'c' && a.offset() == 0 && Shape.hasDefaultStridesForShape(a)) {
      return a;
    }
    return a.dup('c');
  }

  /** Closes this thread's kept arrays (when its network is closed). */
  static void clear() {
    Pool pool = POOL.get();
    for (ArrayDeque<INDArray> free : pool.free.values()) {
      free.forEach(INDArray::close);
    }
    pool.free.clear();
    pool.bytes = 0;
  }

  private static final class Pool {
    final Map<String, ArrayDeque<INDArray>> free = new HashMap<>();
    long bytes;
  }
}
