package org.tessera.spark.cli;

import java.util.concurrent.Callable;
import org.tessera.spark.embed.EmbedSettings;
import org.tessera.spark.embed.EmbedStage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "embed", mixinStandardHelpOptions = true,
    description = {"Turn every tile of a tile index into a feature vector with a patch encoder "
        + "(a CNN, or any ONNX model such as a ViT foundation model), on the executors.",
        "Output (FEAT): features/ (Parquet: slide_id, col, row, x, y, level, features array<float>),"
            + " slides/ (one row per slide, status ok|failed), manifest.json (encoder, weights "
            + "hash, preprocessing, tile parameters).",
        "Re-running skips slides already done; a slide with an unreadable tile is reported as "
            + "failed and the job goes on."})
final class EmbedCommand implements Callable<Integer> {
  @Option(names = "--tiles", required = true, paramLabel = "OUT", description = "Output folder of tessera tile.")
  String tiles;

  @Option(names = "--out", required = true, paramLabel = "FEAT", description = "Output folder for the features.")
  String out;

  @Option(names = "--encoder", paramLabel = "NAME|PATH",
      description = "resnet50-trunc (ResNet-50 to the third stage + average pooling, 1024-d), "
          + "small-cnn, onnx (an ONNX model given with --weights, run by ONNX Runtime: ViTs "
          + "exported by tools/export-onnx), or a model file (DL4J zip or Keras .h5) cut at "
          + "--cut-layer (default: ${DEFAULT-VALUE}).")
  String encoder = "resnet50-trunc";

  @Option(names = "--weights", paramLabel = "FILE",
      description = "Weights for a named encoder: torchvision-style safetensors, or a DL4J zip / "
          + "Keras .h5 with matching layer names; for --encoder onnx the .onnx model (its "
          + "config JSON, model.onnx.json or model.json, is read from beside it). Nothing is "
          + "downloaded.")
  String weights = "";

  @Option(names = "--cut-layer", paramLabel = "NAME", description = "For a model file: the layer whose output are the features.")
  String cutLayer = "";

  @Option(names = "--random-init", description = "Use seeded random weights (tests, demo) instead of --weights.")
  boolean randomInit;

  @Option(names = "--seed", paramLabel = "S", description = "Seed for --random-init (default: ${DEFAULT-VALUE}).")
  long seed = 42;

  @Option(names = "--input-size", paramLabel = "PX", description = "Network input edge (default: the encoder's).")
  int inputSize;

  @Option(names = "--batch", paramLabel = "B", description = "Tiles per forward pass (default: ${DEFAULT-VALUE}).")
  int batch = 32;

  @Option(names = "--half-precision",
      description = "Run the encoder in 16-bit floats: half the memory, and faster on GPUs with "
          + "half-precision units (on CPUs ND4J computes it but more slowly). Features are "
          + "stored as 32-bit floats; the manifest records fp16.")
  boolean halfPrecision;

  @Option(names = "--stain-norm", paramLabel = "METHOD",
      description = "Stain normalisation before the encoder: none, macenko or reinhard "
          + "(default: ${DEFAULT-VALUE}).")
  String stainNorm = "none";

  @Option(names = "--stain-reference", paramLabel = "IMAGE",
      description = "Fit the stain normaliser to this image (PNG/JPEG/TIFF) instead of its built-in reference.")
  String stainReference = "";

  @Option(names = "--tiles-per-task", paramLabel = "N",
      description = "Split slides with more tiles into tasks of N tiles (default: ${DEFAULT-VALUE}).")
  int tilesPerTask = 4000;




  @Option(names = "--onnx-config", paramLabel = "JSON",
      description = "For --encoder onnx: the model config (input_size, mean, std, output, "
          + "pooling, prefix_tokens) when it is not beside the model.")
  String onnxConfig = "";

  @Option(names = "--onnx-output", paramLabel = "NAME",
      description = "For --encoder onnx: the output holding the embedding (default: the config's,"
          + " or the model's only output).")
  String onnxOutput = "";

  @Option(names = "--pooling", paramLabel = "HOW",
      description = "For --encoder onnx with a token output [N,T,D]: cls (token 0), mean (of the "
          + "patch tokens) or cls+mean (default: the config's, else cls).")
  String pooling = "";

  @Option(names = "--mean", paramLabel = "R,G,B",
      description = "For --encoder onnx: per-channel mean on [0,1] RGB (default: the config's, "
          + "else ImageNet's; CLIP models such as CONCH use 0.48145466,0.4578275,0.40821073).")
  String mean = "";

  @Option(names = "--std", paramLabel = "R,G,B",
      description = "For --encoder onnx: per-channel std (default: the config's, else "
          + "ImageNet's; CLIP: 0.26862954,0.26130258,0.27577711).")
  String std = "";

  @Mixin
  RunOptions run;

  @Mixin
  ReaderOption reader;

  @Mixin
  SparkOptions spark;

  EmbedSettings settings() {
    return new EmbedSettings(encoder, weights, cutLayer, randomInit, seed, inputSize, batch,
        stainNorm, stainReference, tilesPerTask, run.overwrite, run.cacheDir, halfPrecision,
        new EmbedSettings.Onnx(onnxConfig, onnxOutput, pooling, mean, std),
        reader.kind());
  }

  @Override
  public Integer call() throws Exception {
    EmbedSettings s = settings();
    EmbedStage.Summary summary = EmbedStage.run(spark.session("tessera embed"), tiles, out, s,
        System.out);
    run.report(summary.describe(), summary);
    return 0;
  }
}
