package org.tessera.spark.io;

import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Per-slide outputs written in ranges by several tasks. A work part is defined by its slide, the
 * key of what the slide's rows are computed from (its plan, its inputs) and its row range
 * {@code [start, end)}, and all three are in its name:
 * {@code ROOT/_work/<slide_id>/<key>/part-<start>-<end>.parquet}. A part found under that name is
 * therefore the rows it stands for, whichever run or task attempt wrote it, and is not redone;
 * parts of another key (the slide or its plan changed) or of other bounds (another
 * {@code --tiles-per-task}) are never used and are dropped when the slide commits.
 *
 * <p>Once every range of a slide is there the driver moves them into
 * {@code ROOT/<table>/<slide_id>+<k>.parquet}, after removing that slide's older files. The caller
 * writes the slide's row afterwards: that row is the commit.
 */
public final class RangeCommit {
  public static final String WORK = "_work";

  private RangeCommit() {}

  /**
   * One range of one slide's rows.
   *
   * @param path  the slide's file (tasks that read pixels open it)
   * @param key   {@link #key} of what the rows are computed from
   * @param index position of the range among the slide's ranges
   */
  public record Part(String slideId, String path, String key, int index, int start, int end)
      implements Serializable {
    private static final long serialVersionUID = 1L;

    public int rows() {
      return end - start;
    }
  }

  /** A short digest of the facts that decide a slide's rows: equal keys mean equal rows. */
  public static String key(Object... facts) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      for (Object f : facts) {
        md.update(String.valueOf(f).getBytes(StandardCharsets.UTF_8));
        md.update((byte) 0);
      }
      return HexFormat.of().formatHex(md.digest(), 0, 10);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** {@code n} rows cut into {@code ceil(n / perTask)} contiguous ranges of near-equal size. */
  public static List<Part> parts(String slideId, String path, String key, long n, int perTask) {
    int[] bounds = splits(n, perTask);
    List<Part> parts = new ArrayList<>(bounds.length - 1);
    for (int k = 0; k + 1 < bounds.length; k++) {
      parts.add(new Part(slideId, path, key, k, bounds[k], bounds[k + 1]));
    }
    return parts;
  }

  public static Path workDir(Path root, String slideId) {
    return new Path(new Path(root, WORK), slideId);
  }

  /** The folder of one slide's work under one key (a plan file may sit there beside the parts). */
  public static Path workDir(Path root, String slideId, String key) {
    return new Path(workDir(root, slideId), key);
  }

  public static Path workPart(Path root, Part p) {
    return new Path(workDir(root, p.slideId(), p.key()),
        String.format("part-%010d-%010d.parquet", p.start(), p.end()));
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
    List<Path> parts = new ArrayList<>();
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

  /**
   * Removes the committed files of several slides from a table folder with one listing: what the
   * driver does, before any task starts, to the slides it is about to redo.
   */
  public static void deleteSlides(Configuration conf, Path tableDir, java.util.Set<String> ids)
      throws IOException {
    FileSystem fs = tableDir.getFileSystem(conf);
    if (ids.isEmpty() || !fs.exists(tableDir)) {
      return;
    }
    for (FileStatus st : fs.listStatus(tableDir)) {
      String name = st.getPath().getName();
      int plus = name.lastIndexOf('+');
      if (st.isFile() && plus > 0 && ids.contains(name.substring(0, plus))) {
        fs.delete(st.getPath(), false);
      }
    }
  }

  /**
   * Moves a slide's work parts (all of one slide and key, in order) into the table folder and
   * clears the slide's work folder, including parts of other keys or bounds.
   */
  public static void moveIntoPlace(Configuration conf, Path root, Path tableDir, List<Part> parts)
      throws IOException {
    FileSystem fs = root.getFileSystem(conf);
    String slideId = parts.get(0).slideId();
    for (Part p : parts) {
      if (!fs.exists(workPart(root, p))) {
        throw new IOException("slide " + slideId + ": rows " + p.start() + ".." + p.end()
            + " were not written (" + workPart(root, p) + " is missing)");
      }
    }
    deleteSlide(conf, tableDir, slideId);
    fs.mkdirs(tableDir);
    for (int k = 0; k < parts.size(); k++) {
      Path from = workPart(root, parts.get(k));
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
