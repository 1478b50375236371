package org.tessera.spark.collab;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.tessera.spark.io.Json;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.example.data.Group;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.tessera.core.collab.PatchClasses;
import org.tessera.core.collective.Collective;
import org.tessera.core.image.TilePreprocessor;
import org.tessera.core.nn.StateDicts;
import org.tessera.core.nn.patch.PatchNet;
import org.tessera.core.nn.patch.PatchTrainer;
import org.tessera.core.nn.patch.TileAugment;
import org.tessera.core.optim.Optimizer;
import org.tessera.core.optim.OptimizerConfig;
import org.tessera.spark.embed.EmbedSettings;
import org.tessera.spark.embed.EmbedStage;
import org.tessera.spark.io.AtomicFiles;
import org.tessera.spark.io.HadoopConf;
import org.tessera.spark.io.LocalTrees;
import org.tessera.spark.io.ParquetRows;
import org.tessera.spark.sync.BarrierCollectives;
import org.tessera.spark.tile.LocalSlides;
import org.tessera.spark.sync.RingCollective;
import org.tessera.spark.sync.RingSettings;
import org.tessera.spark.sync.SyncStats;

/**
 * M-step 1: fine-tunes the patch encoder and a linear patch classifier on the round's
 * pseudo-labelled patches, data-parallel over {@code workers} long-lived tasks of one Spark
 * barrier stage that all-reduce among themselves: every BatchNorm layer normalises with the
 * statistics of the global batch (synchronized BatchNorm) and every step sums the gradients, so
 * all workers hold the same weights at all times and K workers train the model one would (see
 * {@link PatchSchedule}). Memory per worker is its share of the patches plus one batch's
 * activations: the encoder never sees a whole bag. Early stopping on the holdout patches (from
 * the head's validation slides) keeps the weights of the best epoch.
 *
 * <p>Writes {@code encoder-round-<r>.safetensors} (the embed stage's weights file),
 * {@code patch-net.safetensors} (encoder and classifier), {@code history.jsonl} (per epoch) and
 * {@code result.json} last; a finished M-step is not redone. A failed worker fails the barrier
 * stage, which Spark retries as a whole; the M-step then starts again from the round's initial
 * weights.
 */
final class EncoderTrainingStage {

  private static final ObjectMapper JSON = Json.MAPPER;
  /** Holdout patches per eval-mode forward pass. */
  private static final int EVAL_BATCH = 64;

  /** One epoch of the M-step as {@code history.jsonl} records it. */
  record Epoch(int epoch, double trainLoss, double trainAccuracy, double holdoutLoss,
      double holdoutAccuracy, int steps, double seconds, double syncSeconds, long syncBytes)
      implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  /** The M-step's outcome, {@code result.json}. */
  record Summary(int round, int workers, int epochs, int bestEpoch, double bestHoldoutLoss,
      double bestHoldoutAccuracy, int trainPatches, int holdoutPatches, int globalBatch,
      double seconds, double syncSeconds) {
    String describe() {
      return String.format("m-step round %d: %d epochs on %d workers (batch %d of %d patches), "
          + "best epoch %d holdout loss %.4f accuracy %.3f over %d patches, %.1f s (%.1f s in "
          + "all-reduce)", round, epochs, workers, globalBatch, trainPatches, bestEpoch,
          bestHoldoutLoss, bestHoldoutAccuracy, holdoutPatches, seconds, syncSeconds);
    }
  }

  /** What rank 0 hands back: the best weights and the history. */
  record Outcome(Map<String, float[]> best, List<Epoch> history, int bestEpoch,
      int trainPatches, int holdoutPatches) implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  /** Everything a worker needs, shipped once in a broadcast. */
  record Job(String architecture, Map<String, float[]> initial, List<String> parts,
      long seed, int round, int shards, int perShard, int epochs, int patience,
      OptimizerConfig optimizer, float[] mean, float[] std) implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  private EncoderTrainingStage() {}

  /** The encoder's input edge for these embed settings (the architecture's default if 0). */
  static int inputSize(EmbedSettings s) throws IOException {
    return EmbedStage.encoderSpec(s).inputSize();
  }

  static Summary run(SparkSession spark, CollaborateSettings s, int round, PatchClasses classes,
      TilePreprocessor.Config preprocessing, RoundDirs prev, RoundDirs dirs, PrintStream console)
      throws IOException {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Configuration conf = jsc.hadoopConfiguration();
    FileSystem fs = dirs.root().getFileSystem(conf);
    if (fs.exists(dirs.encoderResult())) {
      Summary done = Json.read(conf, dirs.encoderResult(), Summary.class);
      console.println(done.describe() + " (done before)");
      return done;
    }
    long t0 = System.nanoTime();
    List<String> parts = new ArrayList<>();
    for (FileStatus f : fs.globStatus(new Path(dirs.patches(), "*.parquet"))) {
      parts.add(f.getPath().toString());
    }
    if (parts.isEmpty()) {
      throw new IllegalStateException(dirs.patches() + " holds no patches: every slide failed "
          + "to give its pseudo-labelled tiles (see the patches line above)");
    }
    parts.sort(String::compareTo);
    String shortfall = PatchSchedule.shortfall(round, trainShardSizes(spark, parts, s.shards()),
        s.patchBatch(), s.perShard());
    if (shortfall != null) {
      throw new IllegalArgumentException(shortfall);
    }
    Map<String, float[]> initial = initialState(conf, s, round, classes, preprocessing
        .inputSize(), prev);
    float[] mean = {preprocessing.mean().red(), preprocessing.mean().green(),
        preprocessing.mean().blue()};
    float[] std = {preprocessing.std().red(), preprocessing.std().green(),
        preprocessing.std().blue()};
    Broadcast<Job> job = jsc.broadcast(new Job(s.encoder(), initial, parts, s.seed(),
        round, s.shards(), s.perShard(), s.patchEpochs(), s.patchPatience(), s.patchOptimizer(),
        mean, std));
    HadoopConf hc = new HadoopConf(conf);
    List<Outcome> outcomes;
    jsc.setJobGroup("tessera-m-step", "round " + round + ": fine-tune the encoder on "
        + s.workers() + " workers with synchronized BatchNorm");
    try {
      List<Integer> ranks = new ArrayList<>();
      for (int i = 0; i < s.workers(); i++) {
        ranks.add(i);
      }
      outcomes = BarrierCollectives.run(jsc.parallelize(ranks, s.workers()), s.workers(),
          RingSettings.defaults(), (collective, it) -> train(job.value(), hc.get(), collective,
              console(collective)));
    } finally {
      jsc.clearJobGroup();
      job.destroy();
    }
    Outcome best = outcomes.get(0);
    writeWeights(conf, s.encoder(), best.best(), dirs);
    StringBuilder lines = new StringBuilder();
    double sync = 0;
    for (Epoch e : best.history()) {
      lines.append(JSON.writeValueAsString(e)).append('\n');
      sync += e.syncSeconds();
    }
    byte[] history = lines.toString().getBytes(StandardCharsets.UTF_8);
    AtomicFiles.writeStream(conf, dirs.encoderHistory(), o -> o.write(history));
    Epoch at = best.history().get(best.bestEpoch());
    Summary summary = new Summary(round, s.workers(), best.history().size(), best.bestEpoch(),
        at.holdoutLoss(), at.holdoutAccuracy(), best.trainPatches(), best.holdoutPatches(),
        s.patchBatch(), (System.nanoTime() - t0) / 1e9, sync);
    byte[] result = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(summary);
    AtomicFiles.writeStream(conf, dirs.encoderResult(), o -> o.write(result));
    console.println(summary.describe());
    return summary;
  }

  /** Training patches per shard in the round's patch set (its small columns only). */
  private static double[] trainShardSizes(SparkSession spark, List<String> parts, int shards) {
    double[] sizes = new double[shards];
    for (org.apache.spark.sql.Row r : spark.read().parquet(parts.toArray(String[]::new))
        .where(org.apache.spark.sql.functions.col("set").equalTo(PseudoLabelStage.TRAIN))
        .groupBy("shard").count().collectAsList()) {
      sizes[r.getInt(0)] = r.getLong(1);
    }
    return sizes;
  }

  /** Rank 0 reports per epoch on the executor's stdout; the others stay quiet. */
  private static PrintStream console(Collective c) {
    return c.rank() == 0 ? System.out : new PrintStream(java.io.OutputStream.nullOutputStream());
  }

  /**
   * Round 1 starts from the encoder round 0 embedded with and a new classifier; later rounds
   * continue from the previous round's whole patch network.
   */
  private static Map<String, float[]> initialState(Configuration conf, CollaborateSettings s,
      int round, PatchClasses classes, int inputSize, RoundDirs prev) throws IOException {
    if (round >= 2) {
      return PatchNet.readStateDict(LocalSlides.localize(conf, prev.patchNet().toString(),
          s.cacheDir()));
    }
    Map<String, float[]> encoder = s.randomInit()
        ? StateDicts.initial(s.encoder(), inputSize, s.seed())
        : PatchNet.readStateDict(LocalSlides.localize(conf, s.weights(), s.cacheDir()));
    try (PatchNet net = PatchNet.withNewClassifier(s.encoder(), encoder, classes.size(),
        s.seed() + 1, Collective.single())) {
      return net.stateDict();
    }
  }

  private static void writeWeights(Configuration conf, String architecture,
      Map<String, float[]> state, RoundDirs dirs) throws IOException {
    try (PatchNet net = PatchNet.fromStateDict(architecture, state, Collective.single())) {
      java.nio.file.Path tmp = Files.createTempDirectory("tessera-m-step");
      try {
        java.nio.file.Path encoder = tmp.resolve("encoder.safetensors");
        java.nio.file.Path whole = tmp.resolve("patch-net.safetensors");
        net.saveEncoder(encoder);
        net.save(whole);
        copyUp(conf, encoder, dirs.encoderWeights());
        copyUp(conf, whole, dirs.patchNet());
      } finally {
        LocalTrees.delete(tmp);
      }
    }
  }

  private static void copyUp(Configuration conf, java.nio.file.Path local, Path target)
      throws IOException {
    AtomicFiles.write(conf, target, tmp -> tmp.getFileSystem(conf)
        .copyFromLocalFile(false, true, new Path(local.toUri()), tmp));
  }

  /** Patches of one set held by a worker: pixels, labels and ids, in a fixed order. */
  private record Patches(List<byte[]> rgb, int[] labels, long[] ids, int[] shards, int size) {}

  /** The body of one barrier task. */
  static Outcome train(Job job, Configuration conf, Collective collective, PrintStream log)
      throws IOException {
    int rank = collective.rank();
    int workers = collective.size();
    Patches train = read(conf, job.parts(), PseudoLabelStage.TRAIN, rank, workers);
    Patches holdout = read(conf, job.parts(), PseudoLabelStage.HOLDOUT, rank, workers);
    PatchSchedule schedule = new PatchSchedule(train.shards(), job.shards(), job.perShard());
    double[] sizes = schedule.shardSizes();
    collective.allReduceSum(sizes);
    double[] counts = {holdout.labels().length};
    collective.allReduceSum(counts);
    int trainPatches = 0;
    for (double n : sizes) {
      trainPatches += (int) n;
    }
    int steps = PatchSchedule.steps(sizes, job.perShard());
    if (steps == 0) {
      throw new IllegalStateException("round " + job.round() + ": " + trainPatches
          + " training patches cannot fill one global batch of " + schedule.globalBatch()
          + " from " + job.shards() + " shards: lower --patch-batch or raise "
          + "--pseudo-fraction");
    }
    try (PatchNet net = PatchNet.fromStateDict(job.architecture(), job.initial(), collective)) {
      Optimizer optimizer = Optimizer.create(job.optimizer(), net.numParams());
      PatchTrainer trainer = new PatchTrainer(net, collective, optimizer);
      List<Epoch> history = new ArrayList<>();
      Map<String, float[]> best = null;
      int bestEpoch = -1;
      double bestLoss = Double.POSITIVE_INFINITY;
      for (int epoch = 0; epoch < job.epochs(); epoch++) {
        long t0 = System.nanoTime();
        SyncStats before = stats(collective);
        double loss = 0;
        double correct = 0;
        List<List<Integer>> order = schedule.order(job.seed(), job.round(), epoch);
        for (int step = 0; step < steps; step++) {
          int[] idx = schedule.local(order, step, rank, workers);
          INDArray batch = batch(job, train, idx, epoch, true);
          int[] labels = new int[idx.length];
          for (int i = 0; i < idx.length; i++) {
            labels[i] = train.labels()[idx[i]];
          }
          PatchTrainer.Result r = trainer.step(batch, labels, schedule.globalBatch());
          batch.close();
          loss += r.loss();
          correct += r.accuracy();
        }
        double[] eval = evaluate(net, job, holdout, collective);
        SyncStats used = stats(collective).minus(before);
        Epoch e = new Epoch(epoch, loss / steps, correct / steps, eval[0], eval[1], steps,
            (System.nanoTime() - t0) / 1e9, used.seconds(), used.bytesSent());
        history.add(e);
        log.printf("[m-step] round %d epoch %d: train loss %.4f acc %.3f, holdout loss %.4f acc "
            + "%.3f, %.1f s (all-reduce %.2f s)%n", job.round(), epoch, e.trainLoss(),
            e.trainAccuracy(), e.holdoutLoss(), e.holdoutAccuracy(), e.seconds(),
            e.syncSeconds());
        double criterion = Double.isNaN(eval[0]) ? e.trainLoss() : eval[0];
        if (criterion < bestLoss) {
          bestLoss = criterion;
          bestEpoch = epoch;
          best = rank == 0 ? net.stateDict() : null;
        } else if (epoch - bestEpoch >= job.patience()) {
          break;
        }
      }
      return rank == 0 ? new Outcome(best, history, bestEpoch, trainPatches, (int) counts[0])
          : null;
    }
  }

  private static SyncStats stats(Collective c) {
    return c instanceof RingCollective ring ? ring.stats() : SyncStats.ZERO;
  }

  /**
   * Eval-mode mean loss and accuracy over every worker's holdout patches; NaN-free even when a
   * worker holds none. Without holdout patches the training loss of the epoch decides instead.
   */
  private static double[] evaluate(PatchNet net, Job job, Patches holdout, Collective c) {
    double[] sums = new double[3];
    int n = holdout.labels().length;
    for (int from = 0; from < n; from += EVAL_BATCH) {
      int[] idx = new int[Math.min(EVAL_BATCH, n - from)];
      for (int i = 0; i < idx.length; i++) {
        idx[i] = from + i;
      }
      INDArray batch = batch(job, holdout, idx, 0, false);
      int[] labels = new int[idx.length];
      for (int i = 0; i < idx.length; i++) {
        labels[i] = holdout.labels()[idx[i]];
      }
      PatchTrainer.Result r = PatchTrainer.localLoss(net, batch, labels);
      batch.close();
      sums[0] += r.loss() * r.count();
      sums[1] += r.accuracy() * r.count();
      sums[2] += r.count();
    }
    c.allReduceSum(sums);
    return sums[2] == 0 ? new double[] {Double.NaN, Double.NaN}
        : new double[] {sums[0] / sums[2], sums[1] / sums[2]};
  }

  /** Patches as a normalised NCHW batch; training patches are augmented per (epoch, patch). */
  private static INDArray batch(Job job, Patches p, int[] idx, int epoch, boolean augment) {
    int size = p.size();
    int plane = size * size;
    float[] data = new float[idx.length * 3 * plane];
    float[] chw = new float[3 * plane];
    for (int i = 0; i < idx.length; i++) {
      byte[] rgb = p.rgb().get(idx[i]);
      for (int q = 0; q < plane; q++) {
        chw[q] = (rgb[3 * q] & 0xff) / 255f;
        chw[plane + q] = (rgb[3 * q + 1] & 0xff) / 255f;
        chw[2 * plane + q] = (rgb[3 * q + 2] & 0xff) / 255f;
      }
      float[] t = augment ? TileAugment.apply(chw, size, job.seed() + job.round(),
          epoch, p.ids()[idx[i]]) : chw;
      int base = i * 3 * plane;
      for (int c = 0; c < 3; c++) {
        float m = job.mean()[c];
        float sd = job.std()[c];
        for (int q = 0; q < plane; q++) {
          data[base + c * plane + q] = (t[c * plane + q] - m) / sd;
        }
      }
    }
    return Nd4j.create(data, new long[] {idx.length, 3, size, size}, 'c');
  }

  /**
   * The patches of {@code set} in the shards this worker owns ({@code shard % workers == rank}),
   * in (part file, row) order, which every run reads alike.
   */
  private static Patches read(Configuration conf, List<String> parts, String set, int rank,
      int workers) throws IOException {
    List<byte[]> rgb = new ArrayList<>();
    List<int[]> meta = new ArrayList<>();
    List<Long> ids = new ArrayList<>();
    int size = 0;
    for (String part : parts) {
      for (Group g : ParquetRows.readAll(conf, List.of(new Path(part)))) {
        int shard = g.getInteger("shard", 0);
        if (!g.getString("set", 0).equals(set) || shard % workers != rank) {
          continue;
        }
        size = g.getInteger("size", 0);
        rgb.add(g.getBinary("rgb", 0).getBytes());
        meta.add(new int[] {g.getInteger("patch_class", 0), shard});
        ids.add(patchId(g.getString("slide_id", 0), g.getLong("x", 0), g.getLong("y", 0)));
      }
    }
    int[] labels = new int[meta.size()];
    int[] shards = new int[meta.size()];
    long[] idArr = new long[meta.size()];
    for (int i = 0; i < labels.length; i++) {
      labels[i] = meta.get(i)[0];
      shards[i] = meta.get(i)[1];
      idArr[i] = ids.get(i);
    }
    return new Patches(rgb, labels, idArr, shards, size);
  }

  /** A patch's identity for its augmentation draws: stable across runs and workers. */
  static long patchId(String slideId, long x, long y) {
    long h = 1125899906842597L;
    for (int i = 0; i < slideId.length(); i++) {
      h = 31 * h + slideId.charAt(i);
    }
    return h * 0x9E3779B97F4A7C15L ^ PseudoLabelStage.key(x, y);
  }
}
