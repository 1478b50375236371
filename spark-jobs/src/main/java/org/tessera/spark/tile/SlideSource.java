package org.tessera.spark.tile;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.tessera.core.data.SlideIds;

/**
 * Where the slides of a run come from: a directory (every regular, non-hidden file that is not an
 * obvious side file such as a label table is a slide candidate, so an unreadable file is reported
 * rather than silently ignored) or a CSV with a {@code path} column and an optional
 * {@code slide_id} column (relative paths are resolved against the CSV's folder).
 */
public final class SlideSource {
  /** Extensions of files that sit beside slides but are never slides. */
  private static final Set<String> SIDE_FILES =
      Set.of("csv", "tsv", "json", "jsonl", "txt", "md", "yaml", "yml", "xml", "log", "crc");

  private SlideSource() {}

  /** The slides found and the files passed over as not being slides. */
  public record Listing(List<SlideInput> slides, List<String> ignored) {}

  public static Listing list(Configuration conf, String spec) throws IOException {
    return list(conf, spec, Map.of());
  }

  /**
   * The slides of {@code spec}, with ids stable across runs of one output.
   *
   * @param recorded ids an earlier run gave to paths (from its slide table); kept for those paths
   *                 and never given to another
   * @throws IllegalArgumentException when {@code spec} holds no slide (naming a subfolder that
   *                                  does)
   */
  public static Listing list(Configuration conf, String spec, Map<String, String> recorded)
      throws IOException {
    Path p = new Path(spec);
    FileSystem fs = p.getFileSystem(conf);
    if (!fs.exists(p)) {
      throw new IOException("--slides " + spec + " does not exist: give a folder of slides or a CSV"
          + " with a 'path' column");
    }
    FileStatus st = fs.getFileStatus(p);
    Listing listing = st.isDirectory() ? fromDirectory(fs, st.getPath(), recorded)
        : fromCsv(fs, st.getPath(), recorded);
    if (listing.slides().isEmpty()) {
      throw new IllegalArgumentException(st.isDirectory() ? noSlidesIn(fs, st.getPath(), listing)
          : "--slides " + spec + " lists no slides: add rows with a 'path' column");
    }
    return listing;
  }

  /** Why a folder holds no slide, and where the slides probably are. */
  private static String noSlidesIn(FileSystem fs, Path dir, Listing listing) throws IOException {
    StringBuilder why = new StringBuilder("--slides: no slides in " + dir);
    Path best = null;
    int bestCount = 0;
    for (FileStatus e : fs.listStatus(dir)) {
      String name = e.getPath().getName();
      if (e.isDirectory() && !name.startsWith(".") && !name.startsWith("_")) {
        int n = candidates(fs.listStatus(e.getPath()), new ArrayList<>()).size();
        if (n > bestCount || (n == bestCount && n > 0 && "slides".equals(name))) {
          best = e.getPath();
          bestCount = n;
        }
      }
    }
    if (best != null) {
      why.append("; its subfolder ").append(best).append(" holds ").append(bestCount)
          .append(" file(s): pass --slides ").append(best);
    } else if (!listing.ignored().isEmpty()) {
      why.append(" (only ").append(listing.ignored().size()).append(" side file(s) such as ")
          .append(new Path(listing.ignored().get(0)).getName())
          .append("): give the folder that holds the slide files, or a CSV with a 'path' column");
    } else {
      why.append(": give the folder that holds the slide files, or a CSV with a 'path' column");
    }
    return why.toString();
  }

  /** The slide candidates among a folder's entries; side files go to {@code ignored}. */
  private static List<FileStatus> candidates(FileStatus[] entries, List<String> ignored) {
    List<FileStatus> files = new ArrayList<>();
    for (FileStatus e : entries) {
      String name = e.getPath().getName();
      if (!e.isFile() || name.startsWith(".") || name.startsWith("_")) {
        continue;
      }
      if (SIDE_FILES.contains(extension(name))) {
        ignored.add(e.getPath().toString());
      } else {
        files.add(e);
      }
    }
    return files;
  }

  private static Listing fromDirectory(FileSystem fs, Path dir, Map<String, String> recorded)
      throws IOException {
    List<String> ignored = new ArrayList<>();
    List<FileStatus> files = candidates(fs.listStatus(dir), ignored);
    files.sort(Comparator.comparing(f -> f.getPath().toString()));
    List<String> paths = files.stream().map(f -> f.getPath().toString()).toList();
    Map<String, String> ids = SlideIds.assign(paths, recorded, Set.of());
    List<SlideInput> slides = new ArrayList<>();
    for (FileStatus f : files) {
      slides.add(new SlideInput(ids.get(f.getPath().toString()), f.getPath().toString(), f.getLen()));
    }
    return new Listing(slides, ignored);
  }

  private static Listing fromCsv(FileSystem fs, Path csv, Map<String, String> recorded)
      throws IOException {
    Map<String, String> explicitIds = new LinkedHashMap<>();
    List<String> paths = new ArrayList<>();
    CSVFormat format = CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true)
        .setIgnoreSurroundingSpaces(true).setIgnoreEmptyLines(true).build();
    try (BufferedReader in = new BufferedReader(
             new InputStreamReader(fs.open(csv), StandardCharsets.UTF_8));
         CSVParser parser = format.parse(in)) {
      if (!parser.getHeaderMap().containsKey("path")) {
        throw new IOException(csv + ": no 'path' column (header is " + parser.getHeaderNames()
            + "); a slide list CSV needs path[,slide_id]");
      }
      boolean hasId = parser.getHeaderMap().containsKey("slide_id");
      for (CSVRecord r : parser) {
        String raw = r.get("path");
        if (raw.isEmpty()) {
          throw new IOException(csv + " line " + r.getRecordNumber() + ": empty path");
        }
        Path p = new Path(raw);
        String resolved = (p.isAbsolute() || p.toUri().getScheme() != null)
            ? fs.makeQualified(p).toString() : new Path(csv.getParent(), raw).toString();
        if (paths.contains(resolved)) {
          throw new IOException(csv + " line " + r.getRecordNumber() + ": slide listed twice: "
              + raw);
        }
        paths.add(resolved);
        if (hasId && !r.get("slide_id").isEmpty()) {
          String id = r.get("slide_id");
          if (!SlideIds.isValid(id)) {
            throw new IOException(csv + " line " + r.getRecordNumber() + ": slide_id '" + id
                + "' may use only letters, digits, '.', '_' and '-' (and not start with '.')");
          }
          if (explicitIds.containsValue(id)) {
            throw new IOException(csv + " line " + r.getRecordNumber() + ": slide_id '" + id
                + "' is used twice");
          }
          explicitIds.put(resolved, id);
        }
      }
    }
    List<String> unnamed = paths.stream().filter(p -> !explicitIds.containsKey(p)).toList();
    Map<String, String> derived = SlideIds.assign(unnamed, recorded,
        new java.util.HashSet<>(explicitIds.values()));
    List<SlideInput> slides = new ArrayList<>();
    for (String path : paths) {
      String id = explicitIds.containsKey(path) ? explicitIds.get(path) : derived.get(path);
      Path p = new Path(path);
      FileSystem pfs = p.getFileSystem(fs.getConf());
      long bytes = pfs.exists(p) ? pfs.getFileStatus(p).getLen() : 0L;
      slides.add(new SlideInput(id, path, bytes));
    }
    return new Listing(slides, List.of());
  }

  private static String extension(String name) {
    int dot = name.lastIndexOf('.');
    return dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
  }
}
