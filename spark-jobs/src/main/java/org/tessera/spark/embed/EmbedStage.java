package org.tessera.spark.embed;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import java.util.Optional;
import org.tessera.core.image.RgbImage;
import org.tessera.core.image.StainNormalizers;
import org.tessera.core.image.TilePreprocessor;
import org.tessera.core.nn.EncoderSpec;
import org.tessera.core.nn.PatchEncoder;
import org.tessera.spark.io.FeatureSlideTable;
import org.tessera.spark.io.FeatureTable;
import org.tessera.spark.io.HadoopConf;
import org.tessera.spark.io.OutputGuard;
import org.tessera.spark.io.OutputLock;
import org.tessera.spark.io.Provenance;
import org.tessera.spark.io.RangeCommit;
import org.tessera.spark.io.SlideTable;
import org.tessera.spark.tile.StageProgress;
import org.tessera.spark.tile.TileStage;

/**
 * The embed stage on the driver: read the tile index's committed slides, cut each slide's tiles
 * into ranges, embed the ranges on executors (one encoder per executor JVM), and commit each slide
 * when all of its ranges are written. A range that cannot be read fails its slide, not the job.
 */
public final class EmbedStage {
  public static final String MANIFEST = "manifest.json";

  /** How a feature output records what made it ({@code manifest.json}). */
  public static final Provenance.Kind PROVENANCE = new Provenance.Kind(MANIFEST,
      "features made with another encoder, preprocessing or tile index",
      "use --overwrite to redo every slide, or another --out", Set.of());

  /**
   * What decides the features, recorded in {@code manifest.json}.
   *
   * @param tileParams the tile index's {@code tile_params.json} as this version reads it; null
   *                   when the tile index has none
   */
  public record Manifest(EncoderSpec encoder, String preprocessing, String tiles,
      JsonNode tileParams, Map<String, Object> encoderModel) {}

  private EmbedStage() {}

  /** What a run did. */
  public record Summary(int listed, int skipped, int processed, int ok, int failed, long tiles,
      double seconds, Map<String, String> failures, EncoderSpec encoder) {

    public String describe() {
      StringBuilder sb = new StringBuilder(String.format(
          "embed: %d slides in the tile index, %d already done, %d processed: %d ok, %d failed;"
              + " %,d tiles in %.1f s (%,.1f tiles/s) with %s (%d-d)",
          listed, skipped, processed, ok, failed, tiles, seconds,
          tiles / Math.max(seconds, 1e-3), encoder.name(), encoder.featureDim()));
      failures.forEach((id, why) -> sb.append("\n  failed ").append(id).append(": ").append(why));
      return sb.toString();
    }
  }

  public static Summary run(SparkSession spark, String tiles, String out, EmbedSettings settings,
      PrintStream console) throws IOException {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Configuration conf = jsc.hadoopConfiguration();
    Path tilesRoot = HadoopConf.qualify(conf, tiles);
    Path featRoot = HadoopConf.qualify(conf, out);
    Path tileSlides = new Path(tilesRoot, SlideTable.DIR);
    if (!tilesRoot.getFileSystem(conf).exists(tileSlides)) {
      throw new IOException(tiles + " is not a tile output (no " + SlideTable.DIR
          + "/ folder): run tessera tile first and pass its --out here");
    }
    Map<String, Row> tileSlideRows = committedTileSlides(spark, conf, tiles, tileSlides);
    // Loading the encoder on the driver surfaces a missing or mismatched weights file before any
    // task starts, and gives the spec recorded in the manifest.
    PatchEncoder encoder = EncoderPool.encoder(settings);
    EncoderSpec spec = encoder.spec();
    TilePreprocessor.Config preprocessing = preprocessing(settings, encoder.preprocessing());
    Manifest manifest = manifest(conf, tilesRoot, preprocessing, spec, encoder.provenance());
    try (OutputLock lock = OutputLock.acquire(conf, featRoot, "embed", console)) {
      return claimed(spark, jsc, conf, tilesRoot, featRoot, tileSlideRows, spec, preprocessing,
          manifest, settings, console);
    }
  }

  /** The run once the output is locked: record the manifest, then embed what is not done. */
  private static Summary claimed(SparkSession spark, JavaSparkContext jsc, Configuration conf,
      Path tilesRoot, Path featRoot, Map<String, Row> tileSlideRows, EncoderSpec spec,
      TilePreprocessor.Config preprocessing, Manifest manifest, EmbedSettings settings,
      PrintStream console) throws IOException {
    Provenance.claim(conf, featRoot, PROVENANCE, manifest, settings.overwrite());
    featRoot.getFileSystem(conf).mkdirs(new Path(featRoot, SlideTable.DIR));

    Path featSlides = new Path(featRoot, SlideTable.DIR);
    Set<String> done = settings.overwrite() ? Set.of()
        : OutputGuard.committedOk(spark, conf, featSlides);

    List<RangeCommit.Part> ranges = new ArrayList<>();
    Map<String, List<RangeCommit.Part>> partsBySlide = new HashMap<>();
    Map<String, String> failures = new TreeMap<>();
    int processed = 0;
    for (Row r : tileSlideRows.values()) {
      String id = r.getString(0);
      if (done.contains(id)) {
        continue;
      }
      processed++;
      long n = r.getLong(3);
      if (n == 0) {
        String why = "no tiles in the tile index (no tissue found?)";
        failures.put(id, why);
        FeatureSlideTable.write(conf, featSlides, new FeatureSlideTable.Row(id, SlideTable.FAILED,
            why, 0, spec.featureDim(), "-", 0, Instant.now().toString()));
        continue;
      }
      // Feature ranges are keyed by the tile slide they embed: ranges left by a run over an
      // older tiling of this slide are never mixed with this one's.
      String key = RangeCommit.key(tilesRoot, r.getString(1), n, r.getString(4));
      List<RangeCommit.Part> parts = RangeCommit.parts(id, r.getString(1), key, n,
          settings.tilesPerTask());
      partsBySlide.put(id, parts);
      ranges.addAll(parts);
    }
    ranges.sort(Comparator.comparingInt(RangeCommit.Part::rows).reversed()
        .thenComparing(RangeCommit.Part::slideId).thenComparingInt(RangeCommit.Part::index));
    int skipped = tileSlideRows.size() - processed;
    console.printf("[embed] %d slides in %s, %d already done, %d to embed in %d tasks with %s -> %s%n",
        tileSlideRows.size(), tilesRoot, skipped, processed, ranges.size(), spec.name(), featRoot);

    long tilesDone = 0;
    int ok = 0;
    long tilesToEmbed = ranges.stream().mapToLong(x -> x.end() - x.start()).sum();
    StageProgress progress = new StageProgress(spark.sparkContext(), "embed", partsBySlide.size(),
        tilesToEmbed, console);
    try {
      if (!ranges.isEmpty()) {
        HadoopConf hconf = new HadoopConf(conf);
        shipFiles(jsc, settings);
        String tilesPath = tilesRoot.toString();
        String featPath = featRoot.toString();
        var items = progress.items();
        jsc.setJobDescription("embed: " + spec.name() + " features of " + ranges.size()
            + " tile ranges");
        List<EmbedTasks.Done> results = jsc.parallelize(ranges, ranges.size()).map(r ->
            StageProgress.counting(items, () -> EmbedTasks.embed(r, settings, preprocessing,
                hconf.get(), tilesPath, featPath), EmbedTasks.Done::tiles)).collect();

        Map<String, List<EmbedTasks.Done>> bySlide = new TreeMap<>();
        for (EmbedTasks.Done d : results) {
          bySlide.computeIfAbsent(d.slideId(), k -> new ArrayList<>()).add(d);
        }
        Path featTable = new Path(featRoot, FeatureTable.DIR);
        for (var e : bySlide.entrySet()) {
          String id = e.getKey();
          List<EmbedTasks.Done> parts = e.getValue();
          String error = parts.stream().filter(d -> !d.ok()).map(EmbedTasks.Done::error)
              .findFirst().orElse(null);
          String device = parts.get(0).device();
          long n = parts.stream().mapToLong(EmbedTasks.Done::tiles).sum();
          long elapsed = parts.stream().mapToLong(EmbedTasks.Done::millis).sum();
          if (error == null) {
            RangeCommit.moveIntoPlace(conf, featRoot, featTable, partsBySlide.get(id));
            FeatureSlideTable.write(conf, featSlides, new FeatureSlideTable.Row(id, SlideTable.OK,
                null, n, spec.featureDim(), device, elapsed, Instant.now().toString()));
            ok++;
            tilesDone += n;
          } else {
            RangeCommit.discardWork(conf, featRoot, id);
            RangeCommit.deleteSlide(conf, featTable, id);
            FeatureSlideTable.write(conf, featSlides, new FeatureSlideTable.Row(id,
                SlideTable.FAILED, error, 0, spec.featureDim(), device, elapsed,
                Instant.now().toString()));
            failures.put(id, error);
          }
          progress.units().add(1);
        }
      }
    } finally {
      progress.close();
    }
    return new Summary(tileSlideRows.size(), skipped, processed, ok, failures.size(), tilesDone,
        progress.seconds(), failures, spec);
  }

  /**
   * The slides the tile index has committed ok, by id (slide id, path, status, tile count,
   * finished at).
   *
   * @throws IllegalArgumentException when it has none: there is nothing to embed
   */
  private static Map<String, Row> committedTileSlides(SparkSession spark, Configuration conf,
      String tiles, Path tileSlides) throws IOException {
    Map<String, Row> rows = new TreeMap<>();
    FileSystem fs = tileSlides.getFileSystem(conf);
    if (fs.globStatus(new Path(tileSlides, "*.parquet")).length == 0) {
      throw new IllegalArgumentException("the tile index " + tiles + " holds no committed slide"
          + " (" + tileSlides + " is empty): run tessera tile on it first (or finish that run)");
    }
    int failed = 0;
    for (Row r : spark.read().parquet(tileSlides.toString())
        .select("slide_id", "path", "status", "tile_count", "finished_at").collectAsList()) {
      if (SlideTable.OK.equals(r.getString(2))) {
        rows.put(r.getString(0), r);
      } else {
        failed++;
      }
    }
    if (rows.isEmpty()) {
      throw new IllegalArgumentException("the tile index " + tiles + " holds no slide tiled ok ("
          + failed + " failed: see their error in " + tileSlides + " or tessera inspect " + tiles
          + "): fix those slides and run tessera tile again");
    }
    return rows;
  }

  /** What these settings embed with (loading the encoder once in this JVM). */
  public static EncoderSpec encoderSpec(EmbedSettings s) throws IOException {
    return EncoderPool.encoder(s).spec();
  }

  /**
   * Resizing, stain normalisation and normalisation constants, fixed on the driver (a stain
   * reference image is read and fitted once here) and shipped to executors.
   */
  public static TilePreprocessor.Config preprocessing(EmbedSettings s, int inputSize) throws IOException {
    return preprocessing(s, TilePreprocessor.Config.imagenet(inputSize));
  }

  /** The same with the encoder's own size and statistics ({@link PatchEncoder#preprocessing}). */
  static TilePreprocessor.Config preprocessing(EmbedSettings s, TilePreprocessor.Config encoder)
      throws IOException {
    Optional<RgbImage> reference = s.stainReference().isEmpty() ? Optional.empty()
        : Optional.of(RgbImage.read(java.nio.file.Path.of(s.stainReference())));
    return encoder.withStainNormalizer(StainNormalizers.byName(s.stainNorm(), reference));
  }

  /** Weights and model files go to every executor; tasks find them with SparkFiles. */
  private static void shipFiles(JavaSparkContext jsc, EmbedSettings s) {
    if (!s.weights().isEmpty()) {
      jsc.addFile(s.weights());
    }
    if (!EncoderPool.isArchitecture(s.encoder()) && !EncoderPool.isOnnx(s)) {
      jsc.addFile(s.encoder());
    }
    EncoderPool.onnxConfigToShip(s).ifPresent(jsc::addFile);
  }

  private static Manifest manifest(Configuration conf, Path tilesRoot,
      TilePreprocessor.Config preprocessing, EncoderSpec spec, Map<String, Object> model)
      throws IOException {
    JsonNode tileParams = Provenance.read(conf, new Path(tilesRoot,
        TileStage.PROVENANCE.file()), null).orElse(null);
    // ONNX models add their input/output names, pooling and where their config came from.
    return new Manifest(spec, preprocessing.describe(), tilesRoot.toString(), tileParams,
        model.isEmpty() ? null : model);
  }
}
