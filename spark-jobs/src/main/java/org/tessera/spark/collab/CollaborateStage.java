package org.tessera.spark.collab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.tessera.core.collab.PatchClasses;
import org.tessera.core.data.LabelTable;
import org.tessera.core.image.TilePreprocessor;
import org.tessera.spark.embed.EmbedSettings;
import org.tessera.spark.embed.EmbedStage;
import org.tessera.spark.eval.EvaluateSettings;
import org.tessera.spark.eval.EvaluateStage;
import org.tessera.spark.io.AtomicFiles;
import org.tessera.spark.io.HadoopConf;
import org.tessera.spark.io.OutputLock;
import org.tessera.spark.io.Provenance;
import org.tessera.spark.io.FeatureTable;
import org.tessera.spark.io.Json;
import org.tessera.spark.io.SlideTable;
import org.tessera.spark.report.CollaborateReport;
import org.tessera.spark.train.TrainSettings;
import org.tessera.spark.train.TrainStage;

/**
 * The collaborative patch/slide EM loop (Bayesian Collaborative Learning). Round 0 embeds every
 * tile with the starting encoder and trains the MIL head; each later round r pseudo-labels
 * patches from round r-1's attention (and patch classifier), fine-tunes the encoder and a patch
 * classifier on them across the workers with synchronized BatchNorm, re-embeds every tile with
 * the new encoder and retrains the head. Each step is one of the project's stages writing under
 * {@code RUN/round-<r>/}; a step whose output is complete is skipped, so a stopped run resumes at
 * the last finished step. {@code RUN/rounds.json} gathers every finished round's metrics.
 */
public final class CollaborateStage {
  public static final String CONFIG = "collaborate.json";
  public static final String ROUNDS = "rounds.json";

  private static final ObjectMapper JSON = Json.MAPPER;

  /**
   * How a run records its settings ({@code collaborate.json}). How far the loop runs does not
   * change what it computes, so a run may be continued further.
   */
  public static final Provenance.Kind PROVENANCE = new Provenance.Kind(CONFIG,
      "a collaborate run with other settings",
      "resume it with the same options, or pass another --out", Set.of("rounds"));

  /** One finished round as {@code rounds.json} records it. */
  public record RoundRecord(int round, double valAuc, double testAuc, double localisationAuc,
      int localisationTiles, int pseudoTrain, int pseudoHoldout, double patchHoldoutLoss,
      double patchHoldoutAccuracy, int patchEpochs, double seconds) {}

  public record Summary(String run, List<RoundRecord> rounds) {
    public String describe() {
      StringBuilder b = new StringBuilder("collaborate: " + run + "\n");
      b.append("  round  val auc  test auc  localisation auc  patches (train/holdout)  patch acc\n");
      for (RoundRecord r : rounds) {
        b.append(String.format("  %5d  %7.3f  %8.3f  %16.4f  %23s  %9s%n", r.round(), r.valAuc(),
            r.testAuc(), r.localisationAuc(), r.round() == 0 ? "-"
                : r.pseudoTrain() + "/" + r.pseudoHoldout(),
            r.round() == 0 ? "-" : String.format("%.3f", r.patchHoldoutAccuracy())));
      }
      return b.toString().stripTrailing();
    }
  }

  private CollaborateStage() {}

  public static Summary run(SparkSession spark, CollaborateSettings s, PrintStream console)
      throws IOException {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    Path run = HadoopConf.qualify(conf, s.out());
    Path tiles = HadoopConf.qualify(conf, s.tiles());
    requireInputs(conf, tiles, s);
    try (OutputLock lock = OutputLock.acquire(conf, run, "collaborate", console)) {
      return claimed(spark, s, console, conf, run, tiles);
    }
  }

  /** The run once its folder is locked: record the settings, then run the missing steps. */
  private static Summary claimed(SparkSession spark, CollaborateSettings s, PrintStream console,
      Configuration conf, Path run, Path tiles) throws IOException {
    Provenance.claim(conf, run, PROVENANCE, s, false);
    List<RoundRecord> records = new ArrayList<>();
    EmbedSettings start = embedSettings(s, Optional.empty());
    // Patches are cut as the embed stage preprocesses tiles; only the stain settings matter, and
    // they are the same for every round's encoder.
    TilePreprocessor.Config preprocessing = EmbedStage.preprocessing(start,
        EncoderTrainingStage.inputSize(start));
    PatchClasses classes = null;
    for (int r = 0; r <= s.rounds(); r++) {
      long t0 = System.nanoTime();
      RoundDirs dirs = RoundDirs.of(run, r);
      console.println("== round " + r + "/" + s.rounds() + (r == 0
          ? ": embed with the starting encoder, train the head"
          : ": e-step, encoder m-step, re-embed, retrain the head") + " -> " + dirs.root());
      EmbedSettings embed = r == 0 ? start : embedSettings(s, Optional.of(dirs.encoderWeights()));
      PseudoLabelStage.Summary labelled = null;
      EncoderTrainingStage.Summary tuned = null;
      if (r > 0) {
        RoundDirs prev = RoundDirs.of(run, r - 1);
        labelled = ePhase(spark, s, r, classes, prev, dirs, console);
        PatchSetStage.run(spark, tiles, dirs.pseudoLabels(), preprocessing, s.cacheDir(),
            s.reader(), dirs.patches(), console);
        tuned = EncoderTrainingStage.run(spark, s, r, classes, preprocessing, prev, dirs,
            console);
      }
      EmbedStage.Summary embedded = EmbedStage.run(spark, tiles.toString(),
          dirs.features().toString(), embed, console);
      console.println(embedded.describe());
      TrainStage.Summary trained = TrainStage.run(spark, new TrainSettings(
          dirs.features().toString(), s.labels(), dirs.head().toString(), List.of(), s.workers(),
          s.seed(), 0, 0.2, 8, s.encoder(), s.head(), s.headOptimizer(), s.headLoop(), false),
          console);
      console.println(trained.describe());
      if (r == 0) {
        // The head's classes, in its index order, fix the patch classes for every round.
        classes = PatchClasses.of(headClasses(conf, dirs.head()), s.positiveClass(),
            s.negativeClass());
      }
      Path metrics = new Path(dirs.head(), EvaluateStage.METRICS);
      if (!newer(conf, metrics, new Path(dirs.head(), TrainStage.RESULT))) {
        console.println(EvaluateStage.run(spark, new EvaluateSettings(dirs.head().toString(),
            "youden", 1000, null, s.masks(), 0), console).describe());
      }
      records.add(record(conf, r, metrics, labelled, tuned, (System.nanoTime() - t0) / 1e9));
      writeRounds(conf, run, records);
    }
    console.println(CollaborateReport.write(spark, run, s.cacheDir(), s.reader(), 4,
        classes.names().get(classes.negative()), console).describe());
    return new Summary(run.toString(), records);
  }

  /** The E-step, skipped when its table and summary exist. */
  private static PseudoLabelStage.Summary ePhase(SparkSession spark, CollaborateSettings s, int r,
      PatchClasses classes, RoundDirs prev, RoundDirs dirs, PrintStream console)
      throws IOException {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    FileSystem fs = dirs.root().getFileSystem(conf);
    if (fs.exists(dirs.pseudoLabelSummary())) {
      PseudoLabelStage.Summary done = Json.read(conf, dirs.pseudoLabelSummary(),
          PseudoLabelStage.Summary.class);
      console.println(done.describe() + " (done before)");
      return done;
    }
    Optional<PatchClassifier> classifier = r >= 2
        ? Optional.of(PatchClassifier.read(conf, prev.patchNet(), s.cacheDir())) : Optional.empty();
    PseudoLabelStage.Summary done = PseudoLabelStage.run(spark, prev.head(), r, classes,
        s.schedule(), new Path(prev.features(), FeatureTable.DIR), classifier, s.shards(),
        s.seed(), dirs.pseudoLabels());
    byte[] bytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(done);
    AtomicFiles.writeStream(conf, dirs.pseudoLabelSummary(), o -> o.write(bytes));
    console.println(done.describe());
    return done;
  }

  /** The embed settings of a round: the starting encoder, or the round's fine-tuned weights. */
  static EmbedSettings embedSettings(CollaborateSettings s, Optional<Path> tuned) {
    return tuned.map(w -> new EmbedSettings(s.encoder(), w.toString(), "", false, s.seed(),
            s.inputSize(), s.embedBatch(), s.stainNorm(), "", 4000, false, s.cacheDir()))
        .orElseGet(() -> new EmbedSettings(s.encoder(), s.weights(), "", s.randomInit(),
            s.seed(), s.inputSize(), s.embedBatch(), s.stainNorm(), "", 4000, false,
            s.cacheDir()));
  }

  private static List<String> headClasses(Configuration conf, Path head) throws IOException {
    Path file = new Path(head, TrainStage.CONFIG);
    try (var in = file.getFileSystem(conf).open(file)) {
      List<String> out = new ArrayList<>();
      JSON.readTree(in).path("classes").forEach(c -> out.add(c.asText()));
      return out;
    }
  }

  private static RoundRecord record(Configuration conf, int round, Path metrics,
      PseudoLabelStage.Summary labelled, EncoderTrainingStage.Summary tuned, double seconds)
      throws IOException {
    JsonNode m;
    try (var in = metrics.getFileSystem(conf).open(metrics)) {
      m = JSON.readTree(in);
    }
    JsonNode splits = m.path("folds").path(0).path("splits");
    JsonNode loc = m.path("localisation");
    return new RoundRecord(round,
        splits.path("val").path("metrics").path("auc").path("value").asDouble(Double.NaN),
        splits.path("test").path("metrics").path("auc").path("value").asDouble(Double.NaN),
        loc.path("auc").asDouble(Double.NaN), loc.path("tiles").asInt(0),
        labelled == null ? 0 : labelled.trainTiles(),
        labelled == null ? 0 : labelled.holdoutTiles(),
        tuned == null ? Double.NaN : tuned.bestHoldoutLoss(),
        tuned == null ? Double.NaN : tuned.bestHoldoutAccuracy(),
        tuned == null ? 0 : tuned.epochs(), seconds);
  }

  private static void writeRounds(Configuration conf, Path run, List<RoundRecord> records)
      throws IOException {
    byte[] bytes = Json.bytes(records);
    AtomicFiles.writeStream(conf, new Path(run, ROUNDS), o -> o.write(bytes));
  }

  /**
   * The tile output, the labels (read and checked as training will) and a starting weights file
   * are there, before the RUN is claimed: a mistyped path leaves nothing behind.
   */
  private static void requireInputs(Configuration conf, Path tiles, CollaborateSettings s)
      throws IOException {
    if (!tiles.getFileSystem(conf).exists(new Path(tiles, SlideTable.DIR))) {
      throw new IOException(s.tiles() + " is not a tile output (no " + SlideTable.DIR
          + "/ folder): run tessera tile first and pass its --out as --tiles");
    }
    Path labels = HadoopConf.qualify(conf, s.labels());
    FileSystem lfs = labels.getFileSystem(conf);
    if (!lfs.exists(labels)) {
      throw new IOException("--labels " + s.labels() + " does not exist: give the CSV of "
          + "slide_id,label[,patient_id][,split]");
    }
    try (var in = lfs.open(labels)) {
      LabelTable.parse(s.labels(), new String(in.readAllBytes(), StandardCharsets.UTF_8),
          List.of());
    }
    if (!s.weights().isEmpty()) {
      Path weights = HadoopConf.qualify(conf, s.weights());
      if (!weights.getFileSystem(conf).exists(weights)) {
        throw new IOException("--weights " + s.weights() + " does not exist: give the encoder's "
            + "safetensors file, or --random-init");
      }
    }
  }

  private static boolean newer(Configuration conf, Path file, Path input) throws IOException {
    FileSystem fs = file.getFileSystem(conf);
    return fs.exists(file) && fs.exists(input)
        && fs.getFileStatus(file).getModificationTime()
            >= fs.getFileStatus(input).getModificationTime();
  }

}
