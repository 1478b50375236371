package org.tessera.spark.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OutputLockTest {
  static final Configuration CONF = new Configuration();
  static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

  @TempDir
  java.nio.file.Path tmp;

  static Path hadoop(java.nio.file.Path p) {
    return new Path(p.toUri());
  }

  static void writeLock(java.nio.file.Path out, String host, long pid) throws Exception {
    Files.createDirectories(out);
    Files.writeString(out.resolve(OutputLock.FILE), "{\"host\" : \"" + host + "\", \"pid\" : "
        + pid + ", \"stage\" : \"tile\", \"started\" : \"2026-01-01T00:00:00Z\"}\n");
  }

  @Test
  void runsClaimingOneOutputAtOnceLetExactlyOneProceed() throws Exception {
    java.nio.file.Path out = tmp.resolve("out");
    int runs = 8;
    CyclicBarrier start = new CyclicBarrier(runs);
    ExecutorService pool = Executors.newFixedThreadPool(runs);
    List<Future<OutputLock>> claims = new ArrayList<>();
    for (int i = 0; i < runs; i++) {
      claims.add(pool.submit(() -> {
        start.await();
        try {
          return OutputLock.acquire(CONF, hadoop(out), "tile", QUIET);
        } catch (IllegalArgumentException refused) {
          assertEquals(1, refused.getMessage().lines().count(), refused.getMessage());
          assertTrue(refused.getMessage().contains("pid " + ProcessHandle.current().pid())
              && refused.getMessage().contains(out.toString())
              && refused.getMessage().contains("wait"), refused.getMessage());
          return null;
        }
      }));
    }
    List<OutputLock> held = new ArrayList<>();
    for (Future<OutputLock> f : claims) {
      if (f.get() != null) {
        held.add(f.get());
      }
    }
    pool.shutdown();
    assertEquals(1, held.size(), "exactly one run holds the output");
    assertTrue(Files.exists(out.resolve(OutputLock.FILE)));
    held.get(0).close();
    assertFalse(Files.exists(out.resolve(OutputLock.FILE)), "the lock is gone");
    OutputLock.acquire(CONF, hadoop(out), "tile", QUIET).close();
  }

  @Test
  void aLockLeftByAProcessThatNoLongerRunsIsCleared() throws Exception {
    Process p = new ProcessBuilder("true").start();
    p.waitFor();
    java.nio.file.Path out = tmp.resolve("out");
    writeLock(out, InetAddress.getLocalHost().getHostName(), p.pid());
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    try (OutputLock lock = OutputLock.acquire(CONF, hadoop(out), "tile",
        new PrintStream(console, true, StandardCharsets.UTF_8))) {
      assertEquals(ProcessHandle.current().pid(), lock.owner().pid());
    }
    String said = console.toString(StandardCharsets.UTF_8);
    assertTrue(said.contains("stale") && said.contains("pid " + p.pid()), said);
    assertFalse(Files.exists(out.resolve(OutputLock.FILE)));
  }

  @Test
  void aLockOfAnotherHostRefusesUntilItsHeartbeatIsStale() throws Exception {
    java.nio.file.Path out = tmp.resolve("out");
    writeLock(out, "node-7.example", 4242);
    String refused = assertThrows(IllegalArgumentException.class,
        () -> OutputLock.acquire(CONF, hadoop(out), "tile", QUIET)).getMessage();
    assertEquals(1, refused.lines().count(), refused);
    assertTrue(refused.contains("node-7.example") && refused.contains("pid 4242")
        && refused.contains("2026-01-01T00:00:00Z") && refused.contains(OutputLock.FILE),
        refused);

    Files.setLastModifiedTime(out.resolve(OutputLock.FILE), FileTime.fromMillis(
        System.currentTimeMillis() - OutputLock.STALE_MS - 60_000));
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    try (OutputLock lock = OutputLock.acquire(CONF, hadoop(out), "tile",
        new PrintStream(console, true, StandardCharsets.UTF_8))) {
      assertTrue(console.toString(StandardCharsets.UTF_8).contains("no heartbeat"),
          console.toString(StandardCharsets.UTF_8));
    }
  }

  @Test
  void aFolderTheLockMadeGoesWithItWhenNothingWasWritten() throws Exception {
    java.nio.file.Path out = tmp.resolve("new");
    OutputLock.acquire(CONF, hadoop(out), "tile", QUIET).close();
    assertFalse(Files.exists(out));
  }

  @Test
  void aFailingRunReleasesItsLock() throws Exception {
    java.nio.file.Path out = Files.createDirectories(tmp.resolve("out"));
    Files.writeString(out.resolve("kept.txt"), "x");
    assertThrows(IllegalStateException.class, () -> {
      try (OutputLock lock = OutputLock.acquire(CONF, hadoop(out), "train", QUIET)) {
        throw new IllegalStateException("the stage failed");
      }
    });
    assertFalse(Files.exists(out.resolve(OutputLock.FILE)));
    assertTrue(Files.exists(out.resolve("kept.txt")), "a folder that was there stays");
    OutputLock.acquire(CONF, hadoop(out), "train", QUIET).close();
  }

  /** A run in another JVM: holds the lock on {@code args[0]} until it is stopped. */
  public static final class Holder {
    public static void main(String[] args) throws Exception {
      OutputLock.acquire(CONF, new Path(args[0]), "tile", QUIET);
      System.out.println("held");
      System.out.flush();
      Thread.sleep(120_000);
    }
  }

  private static Process holder(java.nio.file.Path out) throws Exception {
    Process p = new ProcessBuilder(java.nio.file.Path.of(System.getProperty("java.home"), "bin",
        "java").toString(), "-cp", System.getProperty("java.class.path"),
        Holder.class.getName(), out.toUri().toString()).redirectErrorStream(true).start();
    var in = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(),
        StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null && !line.equals("held")) {
      // start-up noise
    }
    assertEquals("held", line);
    return p;
  }

  @Test
  void sigtermReleasesTheLockAndSigkillLeavesOneTheNextRunClears() throws Exception {
    java.nio.file.Path out = Files.createDirectories(tmp.resolve("out"));
    Process terminated = holder(out);
    assertTrue(Files.exists(out.resolve(OutputLock.FILE)));
    assertThrows(IllegalArgumentException.class,
        () -> OutputLock.acquire(CONF, hadoop(out), "tile", QUIET));
    terminated.destroy();
    terminated.waitFor();
    assertFalse(Files.exists(out.resolve(OutputLock.FILE)), "the shutdown hook removed it");

    Process killed = holder(out);
    killed.destroyForcibly();
    killed.waitFor();
    assertTrue(Files.exists(out.resolve(OutputLock.FILE)), "SIGKILL runs no hook");
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    OutputLock.acquire(CONF, hadoop(out), "tile",
        new PrintStream(console, true, StandardCharsets.UTF_8)).close();
    assertTrue(console.toString(StandardCharsets.UTF_8).contains("no longer runs"),
        console.toString(StandardCharsets.UTF_8));
  }
}
