package org.tessera.wsi.tissue;

import java.util.Arrays;

/** A growable int stack: flood fills on large masks would overflow the call stack if recursive. */
final class IntStack {
  private int[] data = new int[1024];
  private int size;

  void push(int v) {
    if (size == data.length) {
      data = Arrays.copyOf(data, size * 2);
    }
    data[size++] = v;
  }

  int pop() {
    return data[--size];
  }

  int get(int i) {
    return data[i];
  }

  int size() {
    return size;
  }

  void clear() {
    size = 0;
  }
}
