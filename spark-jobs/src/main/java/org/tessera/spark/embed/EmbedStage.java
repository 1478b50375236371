package org.tessera.spark.embed;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import org.tessera.spark.io.RangeCommit;
import org.tessera.spark.io.SlideTable;
import org.tessera.spark.tile.StageProgress;

/**
 * The embed stage on the driver: read the tile index's committed slides, cut each slide's tiles
 * into ranges, embed the ranges on executors (one encoder per executor JVM), and commit each slide
 * when all of its ranges are written. A range that cannot be read fails its slide, not the job.
 */
public final class EmbedStage {
  static final ObjectMapper JSON = new ObjectMapper()
      .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);
  public static final String MANIFEST = "manifest.json";

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
    FileSystem fs = featRoot.getFileSystem(conf);

    Path tileSlides = new Path(tilesRoot, SlideTable.DIR);
    if (!tilesRoot.getFileSystem(conf).exists(tileSlides)) {
      throw new IOException(tiles + " is not a tile output (no " + SlideTable.DIR
          + "/ folder): run tessera tile first and pass its --out here");
    }
    // Loading the encoder on the driver surfaces a missing or mismatched weights file before any
    // task starts, and gives the spec recorded in the manifest.
    PatchEncoder encoder = EncoderPool.encoder(settings);
    EncoderSpec spec = encoder.spec();
    TilePreprocessor.Config preprocessing = preprocessing(settings, encoder.preprocessing());
    ObjectNode manifest = manifest(conf, tilesRoot, preprocessing, spec);
    if (!encoder.provenance().isEmpty()) {
      // ONNX models: input/output names, pooling and where the model config came from.
      manifest.set("encoder_model", JSON.valueToTree(encoder.provenance()));
    }
    OutputGuard.claim(conf, featRoot, new Path(featRoot, MANIFEST), manifest,
        settings.overwrite(), "features made with another encoder, preprocessing or tile index");

    Map<String, Row> tileSlideRows = new TreeMap<>();
    for (Row r : spark.read().parquet(tileSlides.toString())
        .select("slide_id", "path", "status", "tile_count").collectAsList()) {
      if (SlideTable.OK.equals(r.getString(2))) {
        tileSlideRows.put(r.getString(0), r);
      }
    }
    Path featSlides = new Path(featRoot, SlideTable.DIR);
    Set<String> done = settings.overwrite() ? Set.of()
        : OutputGuard.committedOk(spark, conf, featSlides);

    List<EmbedTasks.Range> ranges = new ArrayList<>();
    Map<String, Integer> partsBySlide = new HashMap<>();
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
      int[] bounds = RangeCommit.splits(n, settings.tilesPerTask());
      partsBySlide.put(id, bounds.length - 1);
      for (int k = 0; k + 1 < bounds.length; k++) {
        ranges.add(new EmbedTasks.Range(id, r.getString(1), k, bounds.length - 1, bounds[k],
            bounds[k + 1]));
      }
    }
    ranges.sort(Comparator.comparingInt((EmbedTasks.Range x) -> x.end() - x.start()).reversed()
        .thenComparing(EmbedTasks.Range::slideId).thenComparingInt(EmbedTasks.Range::part));
    int skipped = tileSlideRows.size() - processed;
    console.printf("[embed] %d slides in %s, %d already done, %d to embed in %d tasks with %s -> %s%n",
        tileSlideRows.size(), tilesRoot, skipped, processed, ranges.size(), spec.name(), featRoot);

    long tilesDone = 0;
    int ok = 0;
    StageProgress progress = new StageProgress(spark.sparkContext(), "embed", partsBySlide.size(),
        console);
    try {
      if (!ranges.isEmpty()) {
        HadoopConf hconf = new HadoopConf(conf);
        shipFiles(jsc, settings);
        String tilesPath = tilesRoot.toString();
        String featPath = featRoot.toString();
        var items = progress.items();
        jsc.setJobDescription("embed: " + spec.name() + " features of " + ranges.size()
            + " tile ranges");
        List<EmbedTasks.Done> results = jsc.parallelize(ranges, ranges.size()).map(r -> {
          EmbedTasks.Done d = EmbedTasks.embed(r, settings, preprocessing, hconf.get(), tilesPath,
              featPath);
          items.add(d.tiles());
          return d;
        }).collect();

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
            RangeCommit.moveIntoPlace(conf, featRoot, featTable, id, partsBySlide.get(id));
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

  private static ObjectNode manifest(Configuration conf, Path tilesRoot,
      TilePreprocessor.Config preprocessing, EncoderSpec spec) throws IOException {
    ObjectNode m = JSON.createObjectNode();
    m.set("encoder", JSON.valueToTree(spec));
    m.put("preprocessing", preprocessing.describe());
    m.put("tiles", tilesRoot.toString());
    Path params = new Path(tilesRoot, "tile_params.json");
    FileSystem fs = params.getFileSystem(conf);
    if (fs.exists(params)) {
      try (var in = fs.open(params)) {
        m.set("tile_params", JSON.readTree(in));
      }
    }
    return m;
  }
}
