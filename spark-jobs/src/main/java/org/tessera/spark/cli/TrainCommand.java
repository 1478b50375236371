package org.tessera.spark.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.tessera.core.nn.mil.MilModel;
import org.tessera.core.optim.OptimizerConfig;
import org.tessera.core.train.TrainLoop;
import org.tessera.spark.train.HeadOptions;
import org.tessera.spark.train.TrainSettings;
import org.tessera.spark.train.TrainStage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "train", mixinStandardHelpOptions = true,
    description = "Train a MIL head on feature bags, data-parallel over Spark executors with "
        + "synchronous gradient averaging (k workers train the same model as one). Resumes from "
        + "the last checkpoint when RUN holds the same configuration.")
final class TrainCommand implements Callable<Integer> {

  @Option(names = "--features", required = true, paramLabel = "FEAT",
      description = "Feature folder made by embed or import-features.")
  String features;

  @Option(names = "--labels", required = true, paramLabel = "CSV",
      description = "slide_id,label[,patient_id][,split]; split is train, val or test.")
  String labels;

  @Option(names = "--model", required = true, paramLabel = "NAME",
      description = "mean, max, abmil, gated-abmil, clam-sb, clam-mb, dsmil or transmil.")
  String model;

  @Option(names = "--out", required = true, paramLabel = "RUN", description = "Run folder.")
  String out;

  @Option(names = "--workers", paramLabel = "K",
      description = "Data-parallel width: partitions the bags are spread over (default: ${DEFAULT-VALUE}).")
  int workers = 2;

  @Option(names = "--seed", paramLabel = "S",
      description = "Seed of initialisation, splits, shuffling and dropout (default: ${DEFAULT-VALUE}).")
  long seed = 42;

  @Option(names = "--folds", paramLabel = "K",
      description = "Stratified k-fold cross-validation grouped by patient; 0 uses the CSV's "
          + "split column, or a patient-grouped hold-out without one (default: ${DEFAULT-VALUE}).")
  int folds;

  @Option(names = "--val-fraction", paramLabel = "F",
      description = "Share of training patients held out for early stopping when no val split "
          + "is given (default: ${DEFAULT-VALUE}).")
  double valFraction = 0.2;

  @Option(names = "--classes", split = ",", paramLabel = "C",
      description = "Class names in index order (default: the sorted labels).")
  List<String> classes = new ArrayList<>();

  @Option(names = "--epochs", paramLabel = "N", description = "Epochs at most (default: ${DEFAULT-VALUE}).")
  int epochs = 50;

  @Option(names = "--patience", paramLabel = "N",
      description = "Stop after N epochs without a lower validation loss (default: ${DEFAULT-VALUE}).")
  int patience = 10;

  @Option(names = "--bags-per-step", paramLabel = "B",
      description = "Bags averaged in one step (default: ${DEFAULT-VALUE}).")
  int bagsPerStep = 8;

  @Option(names = "--checkpoint-every", paramLabel = "N",
      description = "Also checkpoint every N steps within an epoch (default: only at epoch ends).")
  int checkpointEvery;

  @Option(names = "--optimizer", paramLabel = "NAME",
      description = "sgd, momentum, nesterov, adagrad, rmsprop, adam or adamw (default: ${DEFAULT-VALUE}).")
  String optimizer = "adam";

  @Option(names = "--lr", paramLabel = "LR", description = "Learning rate (default: 2e-4 for adam/adamw, the optimizer's otherwise).")
  Double lr;

  @Option(names = "--weight-decay", paramLabel = "W", description = "Weight decay (default: 1e-5; adamw's is decoupled).")
  double weightDecay = 1e-5;

  @Option(names = "--momentum", paramLabel = "M", description = "For momentum and nesterov (default: 0.9).")
  Double momentum;

  @Option(names = "--schedule", paramLabel = "S",
      description = "constant, step or cosine (default: ${DEFAULT-VALUE}).")
  String schedule = "constant";

  @Option(names = "--warmup-steps", paramLabel = "N", description = "Linear warm-up steps before the schedule.")
  long warmupSteps;

  @Option(names = "--step-size", paramLabel = "N", description = "For --schedule step: steps between decays (default: ${DEFAULT-VALUE}).")
  long stepSize = 100;

  @Option(names = "--gamma", paramLabel = "G", description = "For --schedule step: decay factor (default: ${DEFAULT-VALUE}).")
  double gamma = 0.5;

  @Option(names = "--min-lr", paramLabel = "LR", description = "For --schedule cosine: final learning rate (default: ${DEFAULT-VALUE}).")
  double minLr;

  @Option(names = "--clip-norm", paramLabel = "C", description = "Clip the gradient's global L2 norm to C (default: off).")
  double clipNorm;

  @Option(names = "--loss", paramLabel = "L", description = "ce, weighted-ce, focal or hinge (default: ce).")
  String loss = "";

  @Option(names = "--class-weights", split = ",", paramLabel = "W",
      description = "Per-class weights for weighted-ce, in class order.")
  double[] classWeights;

  @Option(names = "--focal-alpha", paramLabel = "A", description = "Focal loss alpha.")
  double focalAlpha = -1;

  @Option(names = "--focal-gamma", paramLabel = "G", description = "Focal loss gamma.")
  double focalGamma = -1;

  @Option(names = "--dropout", paramLabel = "P", description = "Dropout probability (default: the model's).")
  double dropout = -1;

  @Option(names = "--hidden", paramLabel = "H", description = "Hidden size (default: the model's).")
  int hidden;

  @Option(names = "--attention-dim", paramLabel = "D", description = "Attention size (default: the model's).")
  int attentionDim;

  @Option(names = "--clam-k", paramLabel = "K", description = "CLAM: top/bottom-k instances for the instance loss.")
  int clamK;

  @Option(names = "--clam-weight", paramLabel = "C", description = "CLAM: weight of the instance loss.")
  double clamWeight = -1;

  @Option(names = "--landmarks", paramLabel = "M", description = "TransMIL: Nystrom landmarks.")
  int landmarks;

  @Option(names = "--init", paramLabel = "I", description = "xavier-uniform, xavier-normal or he (default: the model's).")
  String init = "";

  @Option(names = "--expect-encoder", paramLabel = "NAME",
      description = "Refuse features whose manifest names another encoder.")
  String expectEncoder = "";

  @Option(names = "--overwrite", description = "Empty the run folder first (everything an earlier run wrote there), then train from the start.")
  boolean overwrite;

  @Mixin
  SummaryOption summaryJson;

  @Mixin
  SparkOptions spark;

  TrainSettings settings() {
    if (!MilModel.MODELS.contains(model)) {
      throw new IllegalArgumentException("--model " + model + " is not one of "
          + String.join(", ", MilModel.MODELS));
    }
    OptimizerConfig o = OptimizerConfig.defaults(optimizer);
    boolean adam = optimizer.equals("adam") || optimizer.equals("adamw");
    o = o.withLearningRate(lr != null ? lr : adam ? 2e-4 : o.learningRate());
    if (!optimizer.equals("adamw")) {
      o = o.withWeightDecay(weightDecay);
    }
    if (momentum != null) {
      o = o.withMomentum(momentum);
    }
    if (clipNorm > 0) {
      o = o.withClipNorm(clipNorm);
    }
    o = switch (schedule) {
      case "constant" -> o.withConstantSchedule();
      case "step" -> o.withStepSchedule(stepSize, gamma);
      case "cosine" -> o.withCosineSchedule(TrainSettings.WHOLE_RUN, minLr);
      default -> throw new IllegalArgumentException("--schedule " + schedule
          + " is not one of constant, step, cosine");
    };
    if (warmupSteps > 0) {
      o = o.withWarmupSteps(warmupSteps);
    }
    HeadOptions head = new HeadOptions(model, hidden, attentionDim, dropout, loss, classWeights,
        focalAlpha, focalGamma, clamK, clamWeight, landmarks, init);
    return new TrainSettings(features, labels, out, classes, workers, seed, folds,
        valFraction, bagsPerStep, expectEncoder, head, o,
        new TrainLoop.Settings(epochs, patience, checkpointEvery), overwrite);
  }

  @Override
  public Integer call() throws Exception {
    TrainStage.Summary summary = TrainStage.run(spark.session("tessera train"), settings(),
        System.out);
    summaryJson.report(summary.describe(), summary);
    return 0;
  }
}
