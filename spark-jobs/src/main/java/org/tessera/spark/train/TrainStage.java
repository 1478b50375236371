package org.tessera.spark.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.tessera.spark.io.Json;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.tessera.core.data.LabelTable;
import org.tessera.core.data.Splits;
import org.tessera.core.nn.mil.MilConfig;
import org.tessera.core.nn.mil.MilModel;
import org.tessera.core.nn.mil.Prediction;
import org.tessera.core.optim.OptimizerConfig;
import org.tessera.core.train.StepPlan;
import org.tessera.core.train.TrainLoop;
import org.tessera.core.train.TrainState;
import org.tessera.spark.embed.EmbedStage;
import org.tessera.spark.io.AtomicFiles;
import org.tessera.spark.io.HadoopConf;
import org.tessera.spark.io.OutputLock;
import org.tessera.spark.io.Provenance;
import org.tessera.spark.io.SlideTable;
import org.tessera.spark.io.TextLines;

/**
 * The train stage. Driver: read the features' manifest (refusing another encoder than the one
 * asked for), the labels and their splits, check every labelled slide has features, cache the
 * bags on the executors ({@link BagStore}), then train one head per split with
 * {@link TrainLoop} over {@link SparkTraining}, persisting history and checkpoints as it goes,
 * and finally write the best model's predictions and attention.
 *
 * <p>Output ({@code RUN}; with {@code --folds k}, each fold in {@code RUN/fold-<i>}):
 * {@code config.json} (resolved settings and provenance), {@code history.jsonl} (one line per
 * epoch), {@code checkpoints/}, {@code model/} (configuration and best parameters),
 * {@code predictions.parquet}, {@code attention.parquet}, {@code result.json} (written last: a
 * split without it is not finished). {@code RUN/summary.json} is written when every split is.
 */
public final class TrainStage {
  public static final String CONFIG = "config.json";
  public static final String HISTORY = "history.jsonl";
  public static final String PREDICTIONS = "predictions.parquet";
  public static final String ATTENTION = "attention.parquet";
  public static final String RESULT = "result.json";
  public static final String SUMMARY = "summary.json";
  public static final String MODEL_DIR = "model";

  static final ObjectMapper JSON = Json.MAPPER;

  /** How a run records what made it ({@code config.json}); the same settings resume it. */
  public static final Provenance.Kind PROVENANCE = new Provenance.Kind(CONFIG,
      "a run with other settings", "use --overwrite to replace it, or another --out", Set.of());

  /**
   * The resolved settings and provenance of a run, recorded in {@code config.json}.
   *
   * @param featuresManifest the features' {@code manifest.json} as read
   */
  public record RunConfig(TrainSettings settings, List<String> classes, String labelsFile,
      Map<String, String> labels, List<Splits.Split> splits, JsonNode featuresManifest,
      String features, MilConfig model, OptimizerConfig optimizer) {}

  private TrainStage() {}

  /** One split's outcome. */
  public record SplitResult(String split, int epochs, int bestEpoch, double bestValLoss,
      Map<String, Double> val, Map<String, Double> test, int trainSlides, int valSlides,
      int testSlides) {}

  /** The run's outcome. */
  public record Summary(String run, String model, int workers, List<SplitResult> splits,
      double seconds) {
    public String describe() {
      StringBuilder sb = new StringBuilder("train: " + model + " on " + workers + " workers, "
          + String.format("%.1f s", seconds) + ", run " + run);
      for (SplitResult r : splits) {
        sb.append(String.format("%n  %s: best epoch %d of %d, val loss %.4f, val auc %s, "
            + "test auc %s", r.split(), r.bestEpoch() + 1, r.epochs(), r.bestValLoss(),
            fmt(r.val().get("auc")), fmt(r.test().get("auc"))));
      }
      return sb.toString();
    }

    private static String fmt(Double v) {
      return v == null || v.isNaN() ? "n/a" : String.format("%.3f", v);
    }
  }

  public static Summary run(SparkSession spark, TrainSettings s, PrintStream console)
      throws IOException {
    long t0 = System.nanoTime();
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    Path featRoot = HadoopConf.qualify(conf, s.features());
    Path runDir = HadoopConf.qualify(conf, s.out());
    try (OutputLock lock = OutputLock.acquire(conf, runDir, "train", console)) {
      return claimed(spark, s, console, t0, conf, featRoot, runDir);
    }
  }

  /** The run once its folder is locked: check the inputs, record the config, train. */
  private static Summary claimed(SparkSession spark, TrainSettings s, PrintStream console,
      long t0, Configuration conf, Path featRoot, Path runDir) throws IOException {
    JsonNode manifest = readManifest(conf, featRoot, s.expectEncoder());

    // Through Hadoop, so a label table on hdfs:// or s3a:// reads like the features beside it.
    Path labels = HadoopConf.qualify(conf, s.labels());
    String labelText;
    try (var in = labels.getFileSystem(conf).open(labels)) {
      labelText = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    LabelTable table = LabelTable.parse(s.labels(), labelText, s.classes());
    // Features for every labelled slide first: a wrong --features or labels file is the more
    // likely mistake, and splits of slides that are not there say nothing useful.
    Map<String, Long> tileCounts = featureSlides(spark, conf, featRoot, table);
    List<Splits.Split> splits = splits(table, s);

    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    try (BagStore store = BagStore.load(spark, new Path(featRoot, "features").toString(),
        tileCounts, s.workers())) {
      MilConfig model = s.head().resolve(store.dim(), table.classes().size());
      Provenance.claim(conf, runDir, PROVENANCE, new RunConfig(s, table.classes(),
          labels.toString(), labelMap(table), splits, manifest, featRoot.toString(), model,
          s.optimizer()), s.overwrite());

      List<SplitResult> results = new ArrayList<>();
      for (Splits.Split split : splits) {
        Path dir = splits.size() == 1 ? runDir : new Path(runDir, split.name());
        results.add(trainSplit(sc, conf, store, model, table, split, dir, s, console));
      }
      Summary summary = new Summary(runDir.toString(), model.model(), s.workers(), results,
          (System.nanoTime() - t0) / 1e9);
      writeJson(conf, new Path(runDir, SUMMARY), JSON.valueToTree(summary));
      return summary;
    }
  }

  private static SplitResult trainSplit(JavaSparkContext sc, Configuration conf, BagStore store,
      MilConfig model, LabelTable table, Splits.Split split, Path dir, TrainSettings s,
      PrintStream console) throws IOException {
    FileSystem fs = dir.getFileSystem(conf);
    Path result = new Path(dir, RESULT);
    if (fs.exists(result)) {
      console.println("train: " + split.name() + " already finished (" + result + ")");
      return Json.read(conf, result, SplitResult.class);
    }
    Map<String, Integer> train = labels(table, split.train());
    Map<String, Integer> val = labels(table, split.val());
    Map<String, Integer> test = labels(table, split.test());
    int numParams;
    float[] initial;
    try (MilModel m = MilModel.create(model, s.seed())) {
      numParams = m.numParams();
      initial = m.params();
      writeJson(conf, new Path(new Path(dir, MODEL_DIR), "config.json"),
          JSON.valueToTree(Map.of("model", model, "layout", m.layout())));
    }
    Checkpoints checkpoints = new Checkpoints(conf, dir);
    TrainState start = checkpoints.latest().orElse(TrainState.initial(initial));
    if (start.step() > 0 || start.epoch() > 0) {
      console.println("train: " + split.name() + " resumes at epoch " + (start.epoch() + 1)
          + ", step " + start.step() + " (global step " + start.globalStep() + ")");
    }
    List<String> history = readHistory(conf, new Path(dir, HISTORY), start.epoch());
    SparkTraining training = new SparkTraining(sc, store.bags(), ExecutorModels.toJson(model),
        numParams, "tessera train " + split.name());
    long[] clock = {System.nanoTime(), 0};
    TrainLoop.Listener listener = new TrainLoop.Listener() {
      @Override
      public void checkpoint(TrainState state) {
        save(checkpoints, state);
      }

      @Override
      public void epochDone(TrainLoop.EpochRecord r, TrainState state) {
        ObjectNode line = JSON.valueToTree(r);
        line.put("split", split.name());
        try {
          history.add(Json.line(line));
          // History first: a crash before the checkpoint replays this epoch and rewrites the
          // history from the earlier checkpoint's epoch, so no line is lost or doubled.
          AtomicFiles.writeStream(conf, new Path(dir, HISTORY),
              o -> o.write((String.join("\n", history) + "\n").getBytes(StandardCharsets.UTF_8)));
        } catch (IOException e) {
          throw new IllegalStateException("cannot write " + new Path(dir, HISTORY) + ": "
              + e.getMessage(), e);
        }
        save(checkpoints, state);
        // Time per epoch from the epochs this process ran; the ETA assumes no early stop.
        clock[1]++;
        double perEpoch = (System.nanoTime() - clock[0]) / 1e9 / clock[1];
        int left = state.finished() ? 0 : s.loop().maxEpochs() - (r.epoch() + 1);
        console.printf("train %s: epoch %d/%d  loss %.4f  val loss %.4f  val auc %s  %.1f s/epoch"
            + "  ETA %s%s%n", split.name(), r.epoch() + 1, s.loop().maxEpochs(), r.trainLoss(),
            r.val().getOrDefault("loss", Double.NaN), Summary.fmt(r.val().get("auc")), perEpoch,
            clockTime(perEpoch * left) + (left > 0 ? " at most" : ""), r.best() ? "  (best)" : "");
      }
    };
    TrainState end = TrainLoop.run(start, s.loop(), new StepPlan(s.seed(), s.bagsPerStep()),
        optimizer(s, train.size()), train, val, training, training, listener);

    writeParams(conf, new Path(new Path(dir, MODEL_DIR), "params.bin"), end.bestParams());
    Map<String, String> splitOf = new TreeMap<>();
    split.train().forEach(id -> splitOf.put(id, "train"));
    split.val().forEach(id -> splitOf.put(id, "val"));
    split.test().forEach(id -> splitOf.put(id, "test"));
    Map<String, Prediction> predictions =
        training.predict(end.bestParams(), splitOf.keySet(), true);
    RunOutputs.writePredictions(conf, new Path(dir, PREDICTIONS), table, splitOf, predictions);
    RunOutputs.writeAttention(conf, new Path(dir, ATTENTION), store.bags(), predictions);
    SplitResult r = new SplitResult(split.name(), end.epoch(), end.bestEpoch(),
        end.bestValLoss(), TrainLoop.metrics(predictions, val),
        TrainLoop.metrics(predictions, test), train.size(), val.size(), test.size());
    writeJson(conf, result, JSON.valueToTree(r));
    return r;
  }

  /** {@code h:mm:ss}. */
  static String clockTime(double seconds) {
    long t = Math.round(seconds);
    return String.format("%d:%02d:%02d", t / 3600, (t / 60) % 60, t % 60);
  }

  /** The optimizer with a whole-run cosine schedule resolved to this split's step count. */
  static OptimizerConfig optimizer(TrainSettings s, int trainSlides) {
    OptimizerConfig o = s.optimizer();
    if (o.schedule().equals("cosine") && o.totalSteps() == TrainSettings.WHOLE_RUN) {
      long perEpoch = (trainSlides + s.bagsPerStep() - 1) / s.bagsPerStep();
      o = o.withCosineSchedule(Math.max(o.warmupSteps() + 1, perEpoch * s.loop().maxEpochs()),
          o.minLearningRate());
    }
    return o;
  }

  private static void save(Checkpoints checkpoints, TrainState state) {
    try {
      checkpoints.save(state);
    } catch (IOException e) {
      throw new IllegalStateException("cannot write a checkpoint: " + e.getMessage(), e);
    }
  }

  /**
   * The given splits; k folds; or, with neither, fold 0 of a patient-grouped stratified 5-fold
   * split (fewer folds when a class has fewer patients) as a single hold-out.
   */
  static List<Splits.Split> splits(LabelTable table, TrainSettings s) {
    if (s.folds() >= 2) {
      return Splits.kFold(table, s.folds(), s.valFraction(), s.seed());
    }
    if (table.hasSplitColumn()) {
      return List.of(Splits.given(table, s.valFraction(), s.seed()));
    }
    return List.of(Splits.patientHoldOut(table, s.valFraction(), s.seed()));
  }

  private static Map<String, Integer> labels(LabelTable table, Set<String> ids) {
    Map<String, Integer> m = new TreeMap<>();
    for (String id : ids) {
      m.put(id, table.classIndex(table.entry(id).label()));
    }
    return m;
  }

  private static Map<String, String> labelMap(LabelTable table) {
    Map<String, String> m = new TreeMap<>();
    for (LabelTable.Entry e : table.entries()) {
      m.put(e.slideId(), e.label());
    }
    return m;
  }

  private static JsonNode readManifest(Configuration conf, Path featRoot, String expectEncoder)
      throws IOException {
    Path file = new Path(featRoot, EmbedStage.MANIFEST);
    FileSystem fs = file.getFileSystem(conf);
    if (!fs.exists(file)) {
      throw new IllegalArgumentException(featRoot + " has no " + EmbedStage.MANIFEST
          + ": point --features at the output of tessera embed or import-features");
    }
    JsonNode manifest;
    try (var in = fs.open(file)) {
      manifest = JSON.readTree(in);
    }
    String encoder = manifest.path("encoder").path("name").asText("");
    if (!expectEncoder.isEmpty() && !expectEncoder.equals(encoder)) {
      throw new IllegalArgumentException(file + " says the features come from encoder '"
          + encoder + "', not '" + expectEncoder + "' (--expect-encoder): use features made "
          + "with " + expectEncoder + " or drop the option");
    }
    return manifest;
  }

  /** Instances per labelled slide; every labelled slide must have features. */
  private static Map<String, Long> featureSlides(SparkSession spark, Configuration conf,
      Path featRoot, LabelTable table) throws IOException {
    Path slides = new Path(featRoot, SlideTable.DIR);
    Map<String, Long> ok = new TreeMap<>();
    FileSystem fs = slides.getFileSystem(conf);
    if (fs.exists(slides) && fs.globStatus(new Path(slides, "*.parquet")).length > 0) {
      for (Row r : spark.read().parquet(slides.toString())
          .select("slide_id", "status", "tile_count").collectAsList()) {
        if (SlideTable.OK.equals(r.getString(1)) && r.getLong(2) > 0) {
          ok.put(r.getString(0), r.getLong(2));
        }
      }
    }
    Set<String> missing = new TreeSet<>();
    Map<String, Long> wanted = new TreeMap<>();
    for (LabelTable.Entry e : table.entries()) {
      Long n = ok.get(e.slideId());
      if (n == null) {
        missing.add(e.slideId());
      } else {
        wanted.put(e.slideId(), n);
      }
    }
    if (!missing.isEmpty()) {
      List<String> some = new ArrayList<>(missing).subList(0, Math.min(5, missing.size()));
      throw new IllegalArgumentException(table.source() + " lists " + missing.size()
          + " slide(s) without features in " + featRoot + " (" + String.join(", ", some)
          + (missing.size() > some.size() ? ", ..." : "") + "): embed them, fix the ids, or "
          + "remove their rows");
    }
    return wanted;
  }

  private static List<String> readHistory(Configuration conf, Path file, int epochsKept)
      throws IOException {
    List<String> lines = new ArrayList<>();
    for (String line : TextLines.nonBlank(file.getFileSystem(conf), file)) {
      if (JSON.readTree(line).path("epoch").asInt() < epochsKept) {
        lines.add(line);
      }
    }
    return lines;
  }

  static void writeJson(Configuration conf, Path file, JsonNode node) throws IOException {
    byte[] bytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(node);
    AtomicFiles.writeStream(conf, file, o -> o.write(bytes));
  }

  /** Parameters as little-endian float32, in {@code MilModel.layout()} order. */
  static void writeParams(Configuration conf, Path file, float[] params) throws IOException {
    java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(params.length * Float.BYTES)
        .order(java.nio.ByteOrder.LITTLE_ENDIAN);
    buf.asFloatBuffer().put(params);
    AtomicFiles.writeStream(conf, file, o -> o.write(buf.array()));
  }
}
