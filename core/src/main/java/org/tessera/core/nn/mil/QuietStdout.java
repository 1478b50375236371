package org.tessera.core.nn.mil;

import java.io.PrintStream;
import java.util.function.Supplier;

/**
 * SameDiff 1.0.0-M2.1 prints "Added differentiated op NAME" to {@code System.out}, one line per
 * op, while it builds a graph's backward pass: hundreds of lines in a notebook or a driver log.
 * {@link #call} runs a body with {@code System.out} replaced by a stream that drops those lines
 * and passes every other line on, then puts the original back.
 */
final class QuietStdout {

  private static final String NOISE = "Added differentiated op";
  private static final Object LOCK = new Object();

  private QuietStdout() {}

  static <T> T call(Supplier<T> body) {
    synchronized (LOCK) {
      PrintStream original = System.out;
      System.setOut(new PrintStream(original, true) {
        @Override
        public void println(String line) {
          if (line == null || !line.startsWith(NOISE)) {
            super.println(line);
          }
        }
      });
      try {
        return body.get();
      } finally {
        System.setOut(original);
      }
    }
  }
}
