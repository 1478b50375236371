package org.tessera.spark.tile;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.tessera.wsi.SlideReader;
import org.tessera.wsi.ReaderKind;
import org.tessera.wsi.SlideReaders;

/**
 * Executor-side access to slides, opened through {@link SlideReaders}. The readers need a local file, so slides on other file systems
 * (hdfs://, s3a://, ...) are copied once per executor into a local cache keyed by path, size and
 * modification time; open readers are kept (a few, least recently used closed first) so the tasks
 * of one slide that land on the same executor open it once.
 */
public final class LocalSlides {
  private static final int MAX_IDLE = 4;
  private static final Map<String, Entry> OPEN = new LinkedHashMap<>(16, 0.75f, true);

  private LocalSlides() {}

  private static final class Entry {
    final SlideReader reader;
    final java.nio.file.Path file;
    final String version;
    int users;

    Entry(SlideReader reader, java.nio.file.Path file, String version) {
      this.reader = reader;
      this.file = file;
      this.version = version;
    }
  }

  /** Size and modification time: a slide replaced or damaged on disk is opened afresh. */
  private static String version(java.nio.file.Path file) throws IOException {
    return Files.size(file) + "@" + Files.getLastModifiedTime(file).toMillis();
  }

  /**
   * A slide reader borrowed from this JVM's pool; closing the lease returns it. Readers nobody
   * uses are closed once more than a few are idle.
   */
  public static final class Lease implements AutoCloseable {
    private final String path;
    private final Entry entry;
    private boolean closed;

    private Lease(String path, Entry entry) {
      this.path = path;
      this.entry = entry;
    }

    public SlideReader reader() {
      return entry.reader;
    }

    @Override
    public void close() {
      synchronized (LocalSlides.class) {
        if (!closed) {
          closed = true;
          entry.users--;
          if (OPEN.get(path) != entry && entry.users == 0) {
            entry.reader.close();
          }
          trim();
        }
      }
    }

    /** Returns the reader and drops it from the pool (after a failure: OpenSlide errors stick). */
    public void discard() {
      synchronized (LocalSlides.class) {
        if (OPEN.get(path) == entry) {
          OPEN.remove(path);
        }
        if (!closed) {
          closed = true;
          entry.users--;
        }
        if (entry.users == 0) {
          entry.reader.close();
        }
      }
    }
  }

  /** Borrows a reader of the slide at {@code path}, chosen by {@code kind} (see SlideReaders). */
  public static synchronized Lease open(Configuration conf, String slidePath, String cacheDir,
      ReaderKind kind) throws IOException {
    // One pool entry per slide and reader kind: stages run with other --reader values in one JVM
    // must not borrow each other's readers.
    String path = kind.optionName() + "|" + slidePath;
    Entry e = OPEN.get(path);
    if (e != null && (!Files.exists(e.file) || !version(e.file).equals(e.version))) {
      OPEN.remove(path);
      if (e.users == 0) {
        e.reader.close();
      }
      e = null;
    }
    if (e == null) {
      java.nio.file.Path local = localize(conf, slidePath, cacheDir);
      String version = version(local);
      e = new Entry(SlideReaders.open(local, kind), local, version);
      OPEN.put(path, e);
    }
    e.users++;
    return new Lease(path, e);
  }

  private static void trim() {
    long idle = OPEN.values().stream().filter(x -> x.users == 0).count();
    var it = OPEN.entrySet().iterator();
    while (idle > MAX_IDLE && it.hasNext()) {
      Entry e = it.next().getValue();
      if (e.users == 0) {
        e.reader.close();
        it.remove();
        idle--;
      }
    }
  }

  /**
   * The local file for a slide path (or another file a native reader must open, such as a
   * weights file): itself when already local, else a cached copy.
   */
  public static java.nio.file.Path localize(Configuration conf, String path, String cacheDir)
      throws IOException {
    Path p = new Path(path);
    FileSystem fs = p.getFileSystem(conf);
    String scheme = fs.getUri().getScheme();
    if ("file".equals(scheme)) {
      java.nio.file.Path local = java.nio.file.Path.of(p.toUri().getPath());
      if (!Files.exists(local)) {
        throw new java.nio.file.NoSuchFileException(local.toString(), null,
            "slide file does not exist: check the path given to tessera tile (--slides), or that"
                + " the file was not moved or deleted since it was tiled");
      }
      return local;
    }
    FileStatus st = fs.getFileStatus(p);
    String key = sha1(path + "|" + st.getLen() + "|" + st.getModificationTime());
    java.nio.file.Path dir = java.nio.file.Path.of(cacheDir);
    Files.createDirectories(dir);
    java.nio.file.Path local = dir.resolve(key.substring(0, 16) + "-" + p.getName());
    if (Files.exists(local) && Files.size(local) == st.getLen()) {
      return local;
    }
    java.nio.file.Path tmp = Files.createTempFile(dir, key.substring(0, 8), ".part");
    try (InputStream in = fs.open(p)) {
      Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
      Files.move(tmp, local, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
    return local;
  }

  private static String sha1(String s) {
    try {
      return HexFormat.of().formatHex(
          MessageDigest.getInstance("SHA-1").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
