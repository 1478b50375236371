package org.tessera.spark.io;

import java.io.IOException;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Per-slide outputs written in ranges by several tasks. Each range lands in
 * {@code ROOT/_work/<slide_id>/part-<k>.parquet} (write-then-rename; a range already there is not
 * redone), and once every range of a slide is there the driver moves them into
 * {@code ROOT/<table>/<slide_id>+<k>.parquet}, after removing that slide's older files. The caller
 * writes the slide's row afterwards: that row is the commit.
 */
public final class RangeCommit {
  public static final String WORK = "_work";

  private RangeCommit() {}

  public static Path workDir(Path root, String slideId) {
    return new Path(new Path(root, WORK), slideId);
  }

  public static Path workPart(Path root, String slideId, int part) {
    return new Path(workDir(root, slideId), String.format("part-%05d.parquet", part));
  }

  /** Final name of part {@code part} of a slide in a table folder. */
  public static Path partPath(Path tableDir, String slideId, int part) {
    return new Path(tableDir, String.format("%s+%05d.parquet", slideId, part));
  }

  /** The committed files of one slide in a table folder (slide ids never contain '+'). */
  public static List<Path> partsOf(Configuration conf, Path tableDir, String slideId)
      throws IOException {
    FileSystem fs = tableDir.getFileSystem(conf);
    if (!fs.exists(tableDir)) {
      return List.of();
    }
    java.util.ArrayList<Path> parts = new java.util.ArrayList<>();
    for (FileStatus st : fs.listStatus(tableDir)) {
      String name = st.getPath().getName();
      int plus = name.lastIndexOf('+');
      if (st.isFile() && plus > 0 && name.endsWith(".parquet")
          && name.substring(0, plus).equals(slideId)) {
        parts.add(st.getPath());
      }
    }
    parts.sort(null);
    return parts;
  }

  /** Removes every committed file of one slide from a table folder (before it is redone). */
  public static void deleteSlide(Configuration conf, Path tableDir, String slideId)
      throws IOException {
    FileSystem fs = tableDir.getFileSystem(conf);
    for (Path p : partsOf(conf, tableDir, slideId)) {
      fs.delete(p, false);
    }
  }

  /** Moves a slide's {@code parts} work files into the table folder and clears its work folder. */
  public static void moveIntoPlace(Configuration conf, Path root, Path tableDir, String slideId,
      int parts) throws IOException {
    FileSystem fs = root.getFileSystem(conf);
    deleteSlide(conf, tableDir, slideId);
    fs.mkdirs(tableDir);
    for (int k = 0; k < parts; k++) {
      Path from = workPart(root, slideId, k);
      if (!fs.rename(from, partPath(tableDir, slideId, k))) {
        throw new IOException("could not commit " + from + " into " + tableDir);
      }
    }
    discardWork(conf, root, slideId);
  }

  /** Drops whatever a slide has in the work folder. */
  public static void discardWork(Configuration conf, Path root, String slideId) throws IOException {
    root.getFileSystem(conf).delete(workDir(root, slideId), true);
  }

  /** Splits {@code n} items into {@code ceil(n / perTask)} contiguous ranges of near-equal size. */
  public static int[] splits(long n, int perTask) {
    int parts = (int) Math.max(1, (n + perTask - 1) / perTask);
    int[] bounds = new int[parts + 1];
    for (int k = 0; k <= parts; k++) {
      bounds[k] = (int) (n * k / parts);
    }
    return bounds;
  }
}
