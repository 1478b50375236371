package org.tessera.spark.tile;

import java.net.URI;
import org.apache.hadoop.fs.RawLocalFileSystem;

/**
 * A local directory tree seen through a non-{@code file} scheme ({@code remote:///...}), so tests
 * exercise the path a slide on HDFS or S3 takes: listing through Hadoop and a copy into the
 * executor's local cache before OpenSlide opens it.
 */
public class RemoteFileSystem extends RawLocalFileSystem {
  static final String SCHEME = "remote";

  @Override
  public URI getUri() {
    return URI.create(SCHEME + ":///");
  }

  @Override
  public String getScheme() {
    return SCHEME;
  }
}
