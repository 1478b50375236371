package org.tessera.spark.tile;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.attribute.FileTime;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;

/**
 * A local output folder seen through its own scheme ({@code storefault:///...}) that damages one
 * slide file at the moment its stored plan is first read back, that is when the pixels of its
 * first range are about to be read: the slide planned fine, and its pixels can no longer be read.
 */
public class StoreFaultFileSystem extends RawLocalFileSystem {
  static final String SCHEME = "storefault";
  static volatile String victimId;
  static volatile java.nio.file.Path victimFile;
  static final AtomicBoolean DAMAGED = new AtomicBoolean();

  @Override
  public URI getUri() {
    return URI.create(SCHEME + ":///");
  }

  @Override
  public String getScheme() {
    return SCHEME;
  }

  @Override
  public FSDataInputStream open(Path f, int bufferSize) throws IOException {
    String id = victimId;
    if (id != null && f.getName().equals("plan.parquet")
        && f.toString().contains("/_work/" + id + "/") && DAMAGED.compareAndSet(false, true)) {
      // Zeros in place of every byte, and a new modification time: the slide is opened afresh
      // and no tile of it decodes.
      long size = Files.size(victimFile);
      FileTime before = Files.getLastModifiedTime(victimFile);
      Files.write(victimFile, new byte[(int) size]);
      Files.setLastModifiedTime(victimFile, FileTime.fromMillis(before.toMillis() + 60_000));
    }
    return super.open(f, bufferSize);
  }
}
