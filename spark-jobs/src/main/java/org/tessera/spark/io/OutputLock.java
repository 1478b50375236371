package org.tessera.spark.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * An exclusive claim on an output folder for one run. The lock is the file {@link #FILE} in the
 * folder, created only if absent (one atomic step on HDFS and on local disks), holding who owns
 * it: host, process id, stage and start time. While the run lasts the owner touches the file's
 * modification time every {@link #HEARTBEAT_MS} ms. The lock goes when the run ends, failed or
 * not, and on SIGTERM through a shutdown hook.
 *
 * <p>A run that was killed cannot hold the folder forever: a lock whose owner is a process on
 * this host that no longer runs, or whose heartbeat is older than {@link #STALE_MS} ms (a host
 * that went away; clocks of the hosts are assumed within a minute of each other), is cleared with
 * a console line. Any other lock refuses the run in one line naming the owner.
 */
public final class OutputLock implements AutoCloseable {
  public static final String FILE = "_tessera.lock";
  public static final long HEARTBEAT_MS = 15_000;
  public static final long STALE_MS = 120_000;

  /** Who holds a lock, as its file records it. */
  public record Owner(String host, long pid, String stage, String started) {
    String describe() {
      return "tessera " + stage + " on " + host + " (pid " + pid + ", started " + started + ")";
    }
  }

  private static final ScheduledExecutorService HEARTBEATS =
      Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "tessera-output-lock-heartbeat");
        t.setDaemon(true);
        return t;
      });

  private final FileSystem fs;
  private final Path root;
  private final Path file;
  private final Owner owner;
  private final boolean madeRoot;
  private final AtomicBoolean released = new AtomicBoolean();
  private final java.util.concurrent.ScheduledFuture<?> heartbeat;
  private final Thread hook;

  private OutputLock(FileSystem fs, Path root, Owner owner, boolean madeRoot) {
    this.fs = fs;
    this.root = root;
    this.file = new Path(root, FILE);
    this.owner = owner;
    this.madeRoot = madeRoot;
    this.heartbeat = HEARTBEATS.scheduleWithFixedDelay(this::touch, HEARTBEAT_MS, HEARTBEAT_MS,
        TimeUnit.MILLISECONDS);
    this.hook = new Thread(this::release, "tessera-output-lock-release");
    Runtime.getRuntime().addShutdownHook(hook);
  }

  /**
   * Locks {@code root} for {@code stage}, creating the folder if needed.
   *
   * @throws IllegalArgumentException (one line) when another run holds it
   */
  public static OutputLock acquire(Configuration conf, Path root, String stage,
      PrintStream console) throws IOException {
    FileSystem fs = root.getFileSystem(conf);
    root = fs.makeQualified(root);
    boolean madeRoot = !fs.exists(root);
    fs.mkdirs(root);
    Path file = new Path(root, FILE);
    Owner me = new Owner(host(), ProcessHandle.current().pid(), stage,
        Instant.now().toString());
    byte[] bytes = Json.bytes(me);
    for (int attempt = 0; attempt < 3; attempt++) {
      if (create(fs, file, bytes)) {
        return new OutputLock(fs, root, me, madeRoot);
      }
      Optional<FileStatus> status = status(fs, file);
      if (status.isEmpty()) {
        continue;  // released between our create and our look: try again
      }
      Optional<Owner> holder = owner(fs, file);
      long age = System.currentTimeMillis() - status.get().getModificationTime();
      String stale = stale(holder, age);
      if (stale == null) {
        throw new IllegalArgumentException(root + " is in use by "
            + holder.map(Owner::describe).orElse("another run (lock being written)")
            + ": wait for it to finish, or if it is not running delete " + file);
      }
      // Only the lock judged stale goes: a holder that replaced it meanwhile keeps its own.
      if (holder.equals(owner(fs, file))) {
        fs.delete(file, false);
        console.println("[lock] cleared the stale lock on " + root + " left by "
            + holder.map(Owner::describe).orElse("an unknown run") + ": " + stale);
      }
    }
    throw new IllegalArgumentException(root + " is being claimed by another run at the same"
        + " time: wait for it to finish, or delete " + file + " if no run uses it");
  }

  /** Why a lock is stale, or null when its owner may still run. */
  private static String stale(Optional<Owner> holder, long ageMs) {
    if (holder.isPresent() && holder.get().host().equals(host())
        && ProcessHandle.of(holder.get().pid()).map(p -> !p.isAlive()).orElse(true)) {
      return "process " + holder.get().pid() + " no longer runs";
    }
    if (ageMs > STALE_MS) {
      return "no heartbeat for " + ageMs / 1000 + " s (more than " + STALE_MS / 1000 + " s)";
    }
    return null;
  }

  /** Creates {@code file} holding {@code bytes} if it does not exist; false if it does. */
  private static boolean create(FileSystem fs, Path file, byte[] bytes) throws IOException {
    if ("file".equals(fs.getScheme())) {
      // The local file system's create checks and then opens: two runs could both pass. The
      // JDK's CREATE_NEW is one atomic step.
      java.nio.file.Path local = java.nio.file.Path.of(file.toUri());
      try (OutputStream o = Files.newOutputStream(local, StandardOpenOption.CREATE_NEW,
          StandardOpenOption.WRITE)) {
        o.write(bytes);
        return true;
      } catch (FileAlreadyExistsException e) {
        return false;
      }
    }
    try (OutputStream o = fs.create(file, false)) {
      o.write(bytes);
      return true;
    } catch (org.apache.hadoop.fs.FileAlreadyExistsException e) {
      return false;
    } catch (IOException e) {
      if (fs.exists(file)) {
        return false;
      }
      throw e;
    }
  }

  private static Optional<FileStatus> status(FileSystem fs, Path file) throws IOException {
    try {
      return Optional.of(fs.getFileStatus(file));
    } catch (java.io.FileNotFoundException e) {
      return Optional.empty();
    }
  }

  /** The owner the lock file names; empty when it is gone or not (yet) readable. */
  private static Optional<Owner> owner(FileSystem fs, Path file) {
    try (InputStream in = fs.open(file)) {
      return Optional.of(Json.MAPPER.readValue(
          new String(in.readAllBytes(), StandardCharsets.UTF_8), Owner.class));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static String host() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return Optional.ofNullable(System.getenv("HOSTNAME")).orElse("localhost");
    }
  }

  /** Who holds this lock. */
  public Owner owner() {
    return owner;
  }

  private void touch() {
    try {
      fs.setTimes(file, System.currentTimeMillis(), -1);
    } catch (IOException e) {
      // The next beat tries again; a lock left this long without one is cleared by other runs.
    }
  }

  /** Removes the lock (if it is still this run's) and a folder it made that stayed empty. */
  private void release() {
    if (!released.compareAndSet(false, true)) {
      return;
    }
    heartbeat.cancel(false);
    try {
      if (owner(fs, file).map(owner::equals).orElse(false)) {
        fs.delete(file, false);
      }
      if (madeRoot && fs.exists(root) && fs.listStatus(root).length == 0) {
        fs.delete(root, false);
      }
    } catch (IOException e) {
      System.err.println("tessera: cannot remove the lock " + file + " (" + e.getMessage()
          + "): delete it before the next run");
    }
  }

  @Override
  public void close() {
    release();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // Already shutting down: the hook runs release, which is done.
    }
  }
}
