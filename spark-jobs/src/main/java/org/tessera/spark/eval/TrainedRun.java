package org.tessera.spark.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.tessera.spark.io.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.tessera.spark.train.TrainStage;

/**
 * A finished train run as evaluation sees it: its recorded configuration (classes, seed, model,
 * features) and the folder of each split, which is {@code RUN} itself for a single split and
 * {@code RUN/<name>} for each cross-validation fold, as {@link TrainStage} lays them out.
 */
record TrainedRun(Path dir, JsonNode config, List<String> classes, long seed, String model,
    List<Fold> folds) {

  private static final ObjectMapper JSON = Json.MAPPER;

  /** One trained split: {@code holdout}, {@code given} or {@code fold-<i>}. */
  record Fold(String name, Path dir) {
    Path predictions() {
      return new Path(dir, TrainStage.PREDICTIONS);
    }

    Path attention() {
      return new Path(dir, TrainStage.ATTENTION);
    }
  }

  /** Reads {@code dir}, refusing with one line a folder that is not a finished train run. */
  static TrainedRun read(Configuration conf, Path dir) throws IOException {
    FileSystem fs = dir.getFileSystem(conf);
    if (!fs.exists(dir)) {
      throw new IllegalArgumentException(dir + " does not exist: pass --run the folder tessera"
          + " train wrote (its --out)");
    }
    Path configFile = new Path(dir, TrainStage.CONFIG);
    if (!fs.exists(configFile)) {
      throw new IllegalArgumentException(dir + " has no " + TrainStage.CONFIG + ", so it is not"
          + " a train run: pass --run the folder tessera train wrote (its --out)");
    }
    if (!fs.exists(new Path(dir, TrainStage.SUMMARY))) {
      throw new IllegalArgumentException(dir + " is not a finished train run (no "
          + TrainStage.SUMMARY + "): finish it by re-running the same tessera train command");
    }
    JsonNode config;
    try (var in = fs.open(configFile)) {
      config = JSON.readTree(in);
    }
    List<String> classes = new ArrayList<>();
    config.path("classes").forEach(c -> classes.add(c.asText()));
    JsonNode splits = config.path("splits");
    if (classes.size() < 2 || !splits.isArray() || splits.isEmpty()) {
      throw new IllegalArgumentException(configFile + " lacks its classes or splits: evaluate a"
          + " run written by this version of tessera train");
    }
    List<Fold> folds = new ArrayList<>();
    for (JsonNode split : splits) {
      String name = split.path("name").asText();
      Fold fold = new Fold(name, splits.size() == 1 ? dir : new Path(dir, name));
      for (Path p : List.of(new Path(fold.dir(), TrainStage.RESULT), fold.predictions())) {
        if (!fs.exists(p)) {
          throw new IllegalArgumentException(fold.dir() + " has no " + p.getName() + ", so split "
              + name + " did not finish: re-run the same tessera train command");
        }
      }
      folds.add(fold);
    }
    return new TrainedRun(dir, config, List.copyOf(classes),
        config.path("settings").path("seed").asLong(42),
        config.path("model").path("model").asText(""), List.copyOf(folds));
  }

  /** The features folder the run was trained on, as recorded. */
  String features() {
    return config.path("features").asText("");
  }

  /** The labels file the run was trained with, as recorded. */
  String labelsFile() {
    return config.path("labels_file").asText("");
  }

  /** The tile stage output the features were made from; empty for imported features. */
  String tiles() {
    return config.path("features_manifest").path("tiles").asText("");
  }
}
