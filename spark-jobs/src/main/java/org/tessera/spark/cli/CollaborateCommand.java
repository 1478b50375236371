package org.tessera.spark.cli;

import java.util.Map;
import java.util.concurrent.Callable;
import org.tessera.core.collab.PseudoLabeler;
import org.tessera.core.nn.mil.MilModel;
import org.tessera.core.optim.OptimizerConfig;
import org.tessera.core.train.TrainLoop;
import org.tessera.spark.collab.CollaborateSettings;
import org.tessera.spark.collab.CollaborateStage;
import org.tessera.spark.train.HeadOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "collaborate", mixinStandardHelpOptions = true,
    description = "The collaborative patch/slide EM loop (Bayesian Collaborative Learning): "
        + "round 0 embeds the tiles and trains a MIL head; every later round pseudo-labels "
        + "patches from the head's attention (and the patch classifier), fine-tunes the encoder "
        + "and a patch classifier on them across the workers with synchronized BatchNorm, "
        + "re-embeds every tile and retrains the head. Resumes at the last finished step.")
final class CollaborateCommand implements Callable<Integer> {

  @Option(names = "--tiles", required = true, paramLabel = "OUT",
      description = "Tile stage output.")
  String tiles;

  @Option(names = "--labels", required = true, paramLabel = "CSV",
      description = "slide_id,label[,patient_id][,split] (any Hadoop file system).")
  String labels;

  @Option(names = "--rounds", paramLabel = "R",
      description = "EM rounds after round 0 (default: ${DEFAULT-VALUE}).")
  int rounds = 2;

  @Option(names = "--workers", paramLabel = "K",
      description = "Data-parallel width of head and encoder training (default: ${DEFAULT-VALUE}).")
  int workers = 2;

  @Option(names = "--out", required = true, paramLabel = "RUN", description = "Run folder.")
  String out;

  @Option(names = "--seed", paramLabel = "S", description = "Seed of everything random (default: ${DEFAULT-VALUE}).")
  long seed = 42;

  @Option(names = "--encoder", paramLabel = "NAME",
      description = "small-cnn or resnet50-trunc (default: ${DEFAULT-VALUE}).")
  String encoder = "small-cnn";

  @Option(names = "--weights", paramLabel = "FILE",
      description = "Safetensors state_dict the encoder starts from.")
  String weights = "";

  @Option(names = "--random-init", description = "Start from seeded random encoder weights.")
  boolean randomInit;

  @Option(names = "--input-size", paramLabel = "PX", description = "Encoder input edge (default: the encoder's).")
  int inputSize;

  @Option(names = "--embed-batch", paramLabel = "B", description = "Tiles per forward pass when embedding (default: ${DEFAULT-VALUE}).")
  int embedBatch = 32;

  @Option(names = "--stain-norm", paramLabel = "M", description = "none, macenko or reinhard (default: ${DEFAULT-VALUE}).")
  String stainNorm = "none";

  @Option(names = "--model", paramLabel = "NAME", description = "MIL head (default: ${DEFAULT-VALUE}).")
  String model = "gated-abmil";

  @Option(names = "--epochs", paramLabel = "N", description = "Head epochs at most (default: ${DEFAULT-VALUE}).")
  int epochs = 40;

  @Option(names = "--patience", paramLabel = "N", description = "Head early-stopping patience (default: ${DEFAULT-VALUE}).")
  int patience = 10;

  @Option(names = "--lr", paramLabel = "LR", description = "Head learning rate, Adam (default: ${DEFAULT-VALUE}).")
  double lr = 2e-4;

  @Option(names = "--positive-class", paramLabel = "C",
      description = "Two classes: the class whose most attended tiles are lesion (default: the second).")
  String positiveClass = "";

  @Option(names = "--negative-class", paramLabel = "C",
      description = "More classes: the lesion-free class (default: an extra background patch class).")
  String negativeClass = "";

  @Option(names = "--pseudo-fraction", paramLabel = "F",
      description = "Share of each slide's tiles pseudo-labelled at each end in round 1 (default: ${DEFAULT-VALUE}).")
  double pseudoFraction = 0.1;

  @Option(names = "--pseudo-fraction-step", paramLabel = "F",
      description = "Added to the share every later round (default: ${DEFAULT-VALUE}).")
  double pseudoFractionStep = 0.05;

  @Option(names = "--pseudo-fraction-max", paramLabel = "F",
      description = "Largest share (default: ${DEFAULT-VALUE}).")
  double pseudoFractionMax = 0.3;

  @Option(names = "--patch-epochs", paramLabel = "N", description = "Encoder M-step epochs at most (default: ${DEFAULT-VALUE}).")
  int patchEpochs = 8;

  @Option(names = "--patch-patience", paramLabel = "N", description = "Encoder M-step early-stopping patience (default: ${DEFAULT-VALUE}).")
  int patchPatience = 2;

  @Option(names = "--patch-batch", paramLabel = "B",
      description = "Global batch of patches per step, split over the workers (default: ${DEFAULT-VALUE}).")
  int patchBatch = 32;

  @Option(names = "--shards", paramLabel = "V",
      description = "Virtual shards of the patches; any worker count dividing it trains the same model (default: ${DEFAULT-VALUE}).")
  int shards = 8;

  @Option(names = "--patch-lr", paramLabel = "LR", description = "Encoder M-step learning rate, Adam (default: ${DEFAULT-VALUE}).")
  double patchLr = 1e-3;

  @Option(names = "--patch-weight-decay", paramLabel = "W", description = "Encoder M-step weight decay (default: ${DEFAULT-VALUE}).")
  double patchWeightDecay = 1e-4;

  @Option(names = "--masks", paramLabel = "DIR",
      description = "Lesion masks for localisation (default: found beside the slides).")
  String masks = "";

  @Option(names = "--cache-dir", paramLabel = "DIR",
      description = "Executor-local folder for copies of slides on non-local file systems.")
  String cacheDir = RunOptions.DEFAULT_CACHE_DIR;

  @Mixin
  ReaderOption reader;

  @Mixin
  SummaryOption summaryJson;

  @Mixin
  SparkOptions spark;

  CollaborateSettings settings() {
    if (!MilModel.MODELS.contains(model)) {
      throw new IllegalArgumentException("--model " + model + " is not one of "
          + String.join(", ", MilModel.MODELS));
    }
    return new CollaborateSettings(tiles, labels, out, rounds, workers, seed,
        encoder, weights, randomInit, inputSize, embedBatch, stainNorm, HeadOptions.of(model),
        OptimizerConfig.defaults("adam").withLearningRate(lr).withWeightDecay(1e-5),
        new TrainLoop.Settings(epochs, patience, 0), positiveClass, negativeClass,
        new PseudoLabeler.Schedule(pseudoFraction, pseudoFractionStep, pseudoFractionMax),
        patchEpochs, patchPatience, patchBatch, shards,
        OptionNames.as(Map.of("learningRate", "--patch-lr", "weightDecay",
            "--patch-weight-decay"), () -> OptimizerConfig.defaults("adam")
                .withLearningRate(patchLr).withWeightDecay(patchWeightDecay)),
        masks, cacheDir, reader.kind());
  }

  @Override
  public Integer call() throws Exception {
    CollaborateStage.Summary summary = CollaborateStage.run(
        spark.session("tessera collaborate"), settings(), System.out);
    summaryJson.report(summary.describe(), summary);
    return 0;
  }
}
