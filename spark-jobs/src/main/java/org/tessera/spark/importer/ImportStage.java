package org.tessera.spark.importer;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.example.data.Group;
import org.apache.spark.sql.SparkSession;
import org.tessera.core.Errors;
import org.tessera.core.data.SlideIds;
import org.tessera.spark.io.AtomicFiles;
import org.tessera.spark.io.FeatureSlideTable;
import org.tessera.spark.io.FeatureTable;
import org.tessera.spark.io.OutputGuard;
import org.tessera.spark.io.OutputLock;
import org.tessera.spark.io.ParquetRows;
import org.tessera.spark.io.Provenance;
import org.tessera.spark.io.RangeCommit;
import org.tessera.spark.io.SlideTable;

/**
 * The import-features stage. It runs on the driver: reading a feature file is a copy, not a
 * computation, and the HDF5 library needs local files and one thread, so tasks would only add a
 * shuffle of the inputs. Spark is used to read the committed slide rows, as every stage does. Each
 * slide commits like an embedded one: its feature file goes through {@code _work/} into
 * {@code features/}, then its slide row is written, so a stopped import resumes where it stopped.
 */
public final class ImportStage {
  public static final String MANIFEST = "manifest.json";
  static final String ENCODER = "imported";
  private static final String DEVICE = "import";

  /**
   * How an imported feature output records where it came from ({@code manifest.json}). The file
   * list is provenance only: a file added or fixed since the last run is imported with the
   * pending slides.
   */
  static final Provenance.Kind PROVENANCE = new Provenance.Kind(MANIFEST,
      "features from another encoder, format or source",
      "use --overwrite to redo every slide, or another --out", Set.of("files"));

  /** The features' origin, recorded in {@code manifest.json} as the embed stage records its. */
  record Manifest(Encoder encoder, String format, String source, List<InputFile> files) {}

  /** The encoder part of a manifest, as the train stage reads it. */
  record Encoder(String name, int featureDim) {}

  /** One input file: its slide (H5) or checksum (CSV). */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record InputFile(String file, String slideId, long bytes, String sha256) {}

  /** Where the features come from. */
  public enum Format { H5, CSV }

  /** What a run did. */
  public record Summary(String format, int listed, int skipped, int processed, int ok, int failed,
      long instances, int featureDim, double seconds, Map<String, String> failures) {

    public String describe() {
      StringBuilder sb = new StringBuilder(String.format(
          "import-features: %d slides in the %s input, %d already done, %d processed: %d ok,"
              + " %d failed; %,d instances of %d features in %.1f s",
          listed, format, skipped, processed, ok, failed, instances, featureDim, seconds));
      failures.forEach((id, why) -> sb.append("\n  failed ").append(id).append(": ").append(why));
      return sb.toString();
    }
  }

  private ImportStage() {}

  /**
   * Imports {@code source} (a folder of {@code <slide_id>.h5} files, or one CSV) on the driver's
   * local file system into the feature output {@code out} (any Hadoop file system).
   */
  public static Summary run(SparkSession spark, Format format, String source, String out,
      boolean overwrite, PrintStream console) throws IOException {
    long start = System.nanoTime();
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    Path featRoot = new Path(out);
    featRoot = featRoot.getFileSystem(conf).makeQualified(featRoot);
    java.nio.file.Path src = java.nio.file.Path.of(source).toAbsolutePath().normalize();

    Input input = format == Format.H5 ? h5Input(src) : csvInput(src);
    try (OutputLock lock = OutputLock.acquire(conf, featRoot, "import-features", console)) {
      return claimed(spark, conf, featRoot, src, format, input, overwrite, start, console);
    }
  }

  /** The run once the output is locked: record the manifest, then import what is not done. */
  private static Summary claimed(SparkSession spark, Configuration conf, Path featRoot,
      java.nio.file.Path src, Format format, Input input, boolean overwrite, long start,
      PrintStream console) throws IOException {
    Provenance.claim(conf, featRoot, PROVENANCE, input.manifest, overwrite);
    featRoot.getFileSystem(conf).mkdirs(new Path(featRoot, SlideTable.DIR));
    Path featSlides = new Path(featRoot, SlideTable.DIR);
    Path featTable = new Path(featRoot, FeatureTable.DIR);
    Set<String> done = overwrite ? Set.of() : OutputGuard.committedOk(spark, conf, featSlides);
    int pending = (int) input.slides.keySet().stream().filter(id -> !done.contains(id)).count();
    console.printf("[import-features] %d slides in %s, %d already done, %d to import -> %s%n",
        input.slides.size(), src, input.slides.size() - pending, pending, featRoot);

    Map<String, String> failures = new TreeMap<>();
    int ok = 0;
    long instances = 0;
    for (var e : input.slides.entrySet()) {
      String id = e.getKey();
      if (done.contains(id)) {
        continue;
      }
      long t0 = System.nanoTime();
      // Without its row the slide counts as not done, so a redo stopped half-way is redone again.
      SlideTable.delete(conf, featSlides, id);
      try {
        ImportedBag bag = e.getValue().load().sorted();
        if (bag.dim() != input.dim) {
          throw new IOException(bag.source() + ": " + bag.dim() + " features per instance but the"
              + " other slides have " + input.dim + ": re-extract it with the same encoder, or"
              + " import it into another --out");
        }
        write(conf, featRoot, featTable, bag);
        FeatureSlideTable.write(conf, featSlides, new FeatureSlideTable.Row(id, SlideTable.OK,
            null, bag.n(), input.dim, DEVICE, millisSince(t0), Instant.now().toString()));
        ok++;
        instances += bag.n();
      } catch (IOException ex) {
        String why = Errors.oneLine(ex);
        RangeCommit.discardWork(conf, featRoot, id);
        RangeCommit.deleteSlide(conf, featTable, id);
        FeatureSlideTable.write(conf, featSlides, new FeatureSlideTable.Row(id, SlideTable.FAILED,
            why, 0, input.dim, DEVICE, millisSince(t0), Instant.now().toString()));
        failures.put(id, why);
      }
    }
    return new Summary(format.name().toLowerCase(Locale.ROOT), input.slides.size(),
        input.slides.size() - pending, pending, ok, failures.size(), instances, input.dim,
        (System.nanoTime() - start) / 1e9, failures);
  }

  /** A slide's bag, read when its turn comes so only one slide's features are in memory. */
  private interface Source {
    ImportedBag load() throws IOException;
  }

  /** Slides by id (sorted), the feature dimension they must share, and the manifest to record. */
  private record Input(Map<String, Source> slides, int dim, Manifest manifest) {}

  private static Input h5Input(java.nio.file.Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException(dir + " is not a folder: --h5 takes the folder of"
          + " <slide_id>.h5 files");
    }
    List<String> names = new ArrayList<>();
    try (Stream<java.nio.file.Path> files = Files.list(dir)) {
      files.filter(p -> Files.isRegularFile(p) && !p.getFileName().toString().startsWith(".")
              && p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".h5"))
          .forEach(p -> names.add(p.getFileName().toString()));
    }
    if (names.isEmpty()) {
      throw new IllegalArgumentException("no .h5 files in " + dir + ": --h5 takes a folder of"
          + " <slide_id>.h5 files with features and coords datasets");
    }
    Map<String, String> ids = SlideIds.assign(names);
    // D is the dimension most files have (the smaller on a tie), so one odd file fails on its
    // own instead of failing every other slide.
    Map<Integer, Integer> dimCounts = new TreeMap<>();
    Map<String, Source> slides = new TreeMap<>();
    List<InputFile> files = new ArrayList<>();
    for (String name : names.stream().sorted().toList()) {
      java.nio.file.Path file = dir.resolve(name);
      String id = ids.get(name);
      try {
        dimCounts.merge(H5Features.dim(file), 1, Integer::sum);
        slides.put(id, () -> H5Features.read(file, id));
      } catch (IOException e) {
        slides.put(id, () -> {
          throw e;
        });
      }
      files.add(new InputFile(name, id, Files.size(file), null));
    }
    if (dimCounts.isEmpty()) {
      throw new IllegalArgumentException("none of the " + names.size() + " .h5 files in " + dir
          + " has a features dataset [N,D]: point --h5 at CLAM-style feature files");
    }
    int dim = dimCounts.entrySet().stream().max(Map.Entry.<Integer, Integer>comparingByValue()
        .thenComparing(Map.Entry.comparingByKey(Comparator.reverseOrder())))
        .orElseThrow().getKey();
    return new Input(slides, dim, manifest("h5", dir, dim, files));
  }

  private static Input csvInput(java.nio.file.Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException(file + " is not a file: --csv takes one CSV of"
          + " slide_id,x,y,f0,...");
    }
    CsvFeatures.Parsed parsed = CsvFeatures.read(file);
    Map<String, Source> slides = new TreeMap<>();
    parsed.bags().forEach((id, bag) -> slides.put(id, () -> bag));
    parsed.failures().forEach((id, why) -> slides.put(id, () -> {
      throw new IOException(why);
    }));
    List<InputFile> files = List.of(new InputFile(file.getFileName().toString(), null,
        Files.size(file), sha256(file)));
    return new Input(slides, parsed.dim(), manifest("csv", file, parsed.dim(), files));
  }

  private static Manifest manifest(String format, java.nio.file.Path source, int dim,
      List<InputFile> files) {
    return new Manifest(new Encoder(ENCODER, dim), format, source.toString(), files);
  }

  private static void write(Configuration conf, Path root, Path table, ImportedBag bag)
      throws IOException {
    int[] cols = ImportedBag.denseRank(bag.x());
    int[] rows = ImportedBag.denseRank(bag.y());
    RangeCommit.Part whole = new RangeCommit.Part(bag.slideId(), "", "import", 0, 0,
        bag.n());
    AtomicFiles.write(conf, RangeCommit.workPart(root, whole), tmp -> {
      try (ParquetRows out = new ParquetRows(conf, tmp, FeatureTable.SCHEMA)) {
        for (int i = 0; i < bag.n(); i++) {
          Group row = out.newRow()
              .append("slide_id", bag.slideId())
              .append("col", cols[i])
              .append("row", rows[i])
              .append("x", bag.x()[i])
              .append("y", bag.y()[i])
              .append("level", bag.level());
          FeatureTable.putFeatures(row, bag.features(), i * bag.dim(), bag.dim());
          out.write(row);
        }
      }
    });
    RangeCommit.moveIntoPlace(conf, root, table, List.of(whole));
  }

  private static String sha256(java.nio.file.Path file) throws IOException {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private static long millisSince(long t0) {
    return (System.nanoTime() - t0) / 1_000_000;
  }
}
