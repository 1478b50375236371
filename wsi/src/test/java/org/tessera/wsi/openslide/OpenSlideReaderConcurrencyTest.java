package org.tessera.wsi.openslide;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.tessera.wsi.LevelInfo;

class OpenSlideReaderConcurrencyTest {
  private static final int THREADS = 8;
  private static TestSlides slides;

  @BeforeAll
  static void build() throws IOException {
    slides = TestSlides.shared();
  }

  @Test
  void parallelReadsEqualSequentialReads() throws Exception {
    try (OpenSlideReader reader = OpenSlideReader.open(slides.genericTiff)) {
      List<long[]> tiles = randomTiles(reader, 400);
      List<int[]> sequential = new ArrayList<>();
      for (long[] t : tiles) {
        sequential.add(read(reader, t));
      }

      ExecutorService pool = Executors.newFixedThreadPool(THREADS);
      try {
        List<Future<int[]>> parallel = new ArrayList<>();
        for (long[] t : tiles) {
          parallel.add(pool.submit(() -> read(reader, t)));
        }
        for (int i = 0; i < tiles.size(); i++) {
          assertArrayEquals(sequential.get(i), parallel.get(i).get(), "tile " + i);
        }
      } finally {
        pool.shutdownNow();
      }
    }
  }

  @Test
  void closeWaitsForReadsInFlightAndLaterReadsFailCleanly() throws Exception {
    OpenSlideReader reader = OpenSlideReader.open(slides.genericTiff);
    List<long[]> tiles = randomTiles(reader, 50);
    List<int[]> expected = new ArrayList<>();
    for (long[] t : tiles) {
      expected.add(read(reader, t));
    }
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    CountDownLatch reading = new CountDownLatch(THREADS);
    AtomicInteger closedFailures = new AtomicInteger();
    try {
      List<Future<?>> readers = new ArrayList<>();
      for (int thread = 0; thread < THREADS; thread++) {
        readers.add(pool.submit((Callable<Void>) () -> {
          reading.countDown();
          for (int round = 0; ; round++) {
            int i = round % tiles.size();
            int[] pixels;
            try {
              pixels = read(reader, tiles.get(i));
            } catch (IOException e) {
              assertTrue(e.getMessage().contains("is closed"), e.getMessage());
              closedFailures.incrementAndGet();
              return null;
            }
            // Whatever completed before close must be whole and correct.
            assertArrayEquals(expected.get(i), pixels);
          }
        }));
      }
      assertTrue(reading.await(30, TimeUnit.SECONDS));
      Thread.sleep(50);
      reader.close();
      for (Future<?> f : readers) {
        try {
          f.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
          throw new AssertionError("a reader thread failed", e.getCause());
        }
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(THREADS, closedFailures.get(), "every thread ends on the closed reader");
  }

  private static int[] read(OpenSlideReader reader, long[] t) throws IOException {
    return reader.readArgb(t[0], t[1], (int) t[2], (int) t[3], (int) t[4]);
  }

  // 256x256 tiles at random levels and positions, some hanging over the slide's edges.
  private static List<long[]> randomTiles(OpenSlideReader reader, int count) {
    Random random = new Random(42);
    List<long[]> tiles = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      LevelInfo level = reader.metadata().level(random.nextInt(3));
      long x = (long) ((random.nextInt((int) level.width()) - 64) * level.downsample());
      long y = (long) ((random.nextInt((int) level.height()) - 64) * level.downsample());
      tiles.add(new long[] {x, y, level.index(), 256, 256});
    }
    return tiles;
  }
}
