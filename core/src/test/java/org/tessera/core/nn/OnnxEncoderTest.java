package org.tessera.core.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.tessera.core.PythonReference;
import org.tessera.core.image.TilePreprocessor;

/**
 * Loading ONNX encoders: defaults for a plain export, the model config and its overrides,
 * pooling of token outputs, float16 models, one-line errors for models that do not fit, and the
 * device and session options. Models are small torch exports (onnx_models.py), kept under
 * target/.
 */
class OnnxEncoderTest {
  private static Path models;

  @BeforeAll
  static void export() throws Exception {
    PythonReference.require("torch", "apt-get install -y python3-torch");
    Path script = Path.of(OnnxEncoderTest.class.getResource("onnx_models.py").toURI());
    models = OnnxGoldenTest.cached("onnx-models", script, () -> PythonReference.run(script, 300,
        OnnxGoldenTest.cacheDir("onnx-models", script).toString()));
  }

  private static PatchEncoder load(String model, OnnxOptions options) throws Exception {
    return Encoders.load(EncoderRequest.of(Encoders.ONNX).withWeights(models.resolve(model))
        .withOnnx(options));
  }

  private static INDArray reference(String name) throws Exception {
    try (SafeTensors st = SafeTensors.open(models.resolve("reference.safetensors"))) {
      return Nd4j.create(st.floats(name), st.info(name).shape(), 'c');
    }
  }

  @Test
  void plainExportGetsTheDefaults() throws Exception {
    try (PatchEncoder e = load("cnn.onnx", OnnxOptions.defaults())) {
      assertEquals(new EncoderSpec("cnn.onnx", Encoders.sha256(models.resolve("cnn.onnx")),
          "features", 224, 8), e.spec());
      assertEquals(TilePreprocessor.Config.imagenet(224), e.preprocessing());
      assertTrue(e.concurrent());
      assertEquals("none", e.provenance().get("config"));
      assertEquals("none", e.provenance().get("pooling"));
    }
    // A dynamic model runs at the size asked for, and gives PyTorch's features.
    try (PatchEncoder e = Encoders.load(EncoderRequest.of(Encoders.ONNX)
        .withWeights(models.resolve("cnn.onnx")).withInputSize(32))) {
      INDArray x = reference("x");
      assertTrue(OnnxGoldenTest.maxRelative(e.embed(x), reference("cnn")) < 1e-6);
    }
  }

  @Test
  void tokenOutputsArePooledAsConfigured(@TempDir Path tmp) throws Exception {
    INDArray x = reference("x");
    INDArray tokens = reference("tokens"); // [2, 5, 6]
    INDArray cls = tokens.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
        org.nd4j.linalg.indexing.NDArrayIndex.point(0),
        org.nd4j.linalg.indexing.NDArrayIndex.all()).dup();
    INDArray patches = tokens.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
        org.nd4j.linalg.indexing.NDArrayIndex.interval(1, 5),
        org.nd4j.linalg.indexing.NDArrayIndex.all()).mean(1);
    try (PatchEncoder e = load("tokens.onnx", OnnxOptions.defaults())) {
      // Declared 32x32 input, class token by default.
      assertEquals(32, e.inputSize());
      assertEquals("tokens:cls", e.spec().cutLayer());
      assertTrue(OnnxGoldenTest.maxRelative(e.embed(x), cls) < 1e-6);
    }
    try (PatchEncoder e = load("tokens.onnx", OnnxOptions.defaults().withPooling("mean"))) {
      assertTrue(OnnxGoldenTest.maxRelative(e.embed(x), patches) < 1e-6);
    }
    try (PatchEncoder e = load("tokens.onnx", OnnxOptions.defaults().withPooling("cls+mean"))) {
      assertEquals(12, e.featureDim());
      assertTrue(OnnxGoldenTest.maxRelative(e.embed(x), Nd4j.hstack(cls, patches)) < 1e-6);
    }
    // The config beside the model: mean over tokens after two prefix tokens, CLIP statistics.
    Path model = tmp.resolve("model.onnx");
    Files.copy(models.resolve("tokens.onnx"), model);
    Files.writeString(tmp.resolve("model.json"), "{\"pooling\": \"mean\", \"prefix_tokens\": 2,"
        + " \"mean\": [0.48145466, 0.4578275, 0.40821073],"
        + " \"std\": [0.26862954, 0.26130258, 0.27577711]}");
    INDArray lastThree = tokens.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
        org.nd4j.linalg.indexing.NDArrayIndex.interval(2, 5),
        org.nd4j.linalg.indexing.NDArrayIndex.all()).mean(1);
    try (PatchEncoder e = Encoders.load(EncoderRequest.of(Encoders.ONNX).withWeights(model))) {
      assertEquals(TilePreprocessor.Config.of(32, TilePreprocessor.Config.CLIP_MEAN,
          TilePreprocessor.Config.CLIP_STD), e.preprocessing());
      assertEquals("model.json", e.provenance().get("config"));
      assertEquals(2, e.provenance().get("prefix_tokens"));
      assertTrue(OnnxGoldenTest.maxRelative(e.embed(x), lastThree) < 1e-6);
    }
    // model.onnx.json wins over model.json, and options win over both.
    Files.writeString(tmp.resolve("model.onnx.json"), "{\"pooling\": \"cls+mean\"}");
    OnnxOptions override = OnnxOptions.defaults().withPooling("cls").withNormalization(
        TilePreprocessor.Config.IMAGENET_MEAN, null);
    try (PatchEncoder e = Encoders.load(EncoderRequest.of(Encoders.ONNX).withWeights(model))) {
      assertEquals(12, e.featureDim());
    }
    try (PatchEncoder e = Encoders.load(EncoderRequest.of(Encoders.ONNX).withWeights(model)
        .withOnnx(override))) {
      assertEquals("tokens:cls", e.spec().cutLayer());
      assertEquals(TilePreprocessor.Config.IMAGENET_MEAN, e.preprocessing().mean());
    }
  }

  @Test
  void namedOutputOfSeveral() throws Exception {
    IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
        () -> load("two_outputs.onnx", OnnxOptions.defaults()));
    assertEquals("ONNX model " + models.resolve("two_outputs.onnx") + " has outputs [a, b]: name"
        + " the embedding with --onnx-output or \"output\" in its config", none.getMessage());
    try (PatchEncoder e = Encoders.load(EncoderRequest.of(Encoders.ONNX)
        .withWeights(models.resolve("two_outputs.onnx")).withInputSize(32)
        .withOnnx(OnnxOptions.defaults().withOutput("b")))) {
      assertEquals(4, e.featureDim());
      assertTrue(OnnxGoldenTest.maxRelative(e.embed(reference("x")), reference("two_outputs_b"))
          < 1e-6);
    }
  }

  @Test
  void float16ModelsTakeAndGiveFloats() throws Exception {
    try (PatchEncoder e = Encoders.load(EncoderRequest.of(Encoders.ONNX)
        .withWeights(models.resolve("half.onnx")).withInputSize(32))) {
      assertEquals("fp16", e.spec().precision());
      assertEquals("float16", e.provenance().get("input_type"));
      // PyTorch rounded the same float16 input; the outputs agree to float16 precision.
      INDArray x = reference("x");
      assertTrue(OnnxGoldenTest.maxRelative(e.embed(x), reference("half")) < 2e-3);
    }
  }

  @Test
  void modelsThatDoNotFitGetOneLine(@TempDir Path tmp) throws Exception {
    String two = message(() -> load("two_inputs.onnx", OnnxOptions.defaults()));
    assertTrue(two.endsWith("two_inputs.onnx has 2 inputs [x, y]: a patch encoder takes one "
        + "[N,3,H,W] float input"), two);
    String gray = message(() -> load("gray.onnx", OnnxOptions.defaults()));
    assertTrue(gray.endsWith("gray.onnx input 'input' has shape [?,1,?,?]: a patch encoder takes"
        + " an RGB batch [N,3,H,W]"), gray);
    String map = message(() -> load("feature_map.onnx", OnnxOptions.defaults()));
    assertTrue(map.endsWith("feature_map.onnx output 'map' has shape [?,4,?,?]: the embedding "
        + "must be [N,D] or tokens [N,T,D]"), map);
    String size = message(() -> Encoders.load(EncoderRequest.of(Encoders.ONNX)
        .withWeights(models.resolve("tokens.onnx")).withInputSize(224)));
    assertTrue(size.endsWith("tokens.onnx takes 32x32 input [?,3,32,32] but --input-size says "
        + "224: drop it or re-export the model with a dynamic input size"), size);
    String pooled = message(() -> load("cnn.onnx", OnnxOptions.defaults().withPooling("mean")));
    assertTrue(pooled.contains("pooling 'mean' applies to token outputs [N,T,D] only"), pooled);
    String badPooling = message(() -> load("tokens.onnx", OnnxOptions.defaults()
        .withPooling("max")));
    assertEquals("--pooling 'max': use one of cls, mean, cls+mean", badPooling);
    String missing = message(() -> Encoders.load(EncoderRequest.of(Encoders.ONNX)));
    assertTrue(missing.startsWith("--encoder onnx needs the model: pass --weights model.onnx"));

    Path notOnnx = tmp.resolve("junk.onnx");
    Files.writeString(notOnnx, "not a model");
    IOException bad = assertThrows(IOException.class, () -> Encoders.load(
        EncoderRequest.of(Encoders.ONNX).withWeights(notOnnx)));
    assertTrue(bad.getMessage().startsWith("ONNX model " + notOnnx + " could not be loaded by "
        + "ONNX Runtime on cpu (onnxruntime, 1 thread): "), bad.getMessage());
    assertFalse(bad.getMessage().contains("\n"));

    Path model = tmp.resolve("m.onnx");
    Files.copy(models.resolve("cnn.onnx"), model);
    Files.writeString(tmp.resolve("m.onnx.json"), "{\"input_sise\": 224}");
    String key = message(() -> Encoders.load(EncoderRequest.of(Encoders.ONNX).withWeights(model)));
    assertEquals("model config " + tmp.resolve("m.onnx.json") + ": unknown key 'input_sise' "
        + "(known: input_size, mean, std, output, pooling, prefix_tokens)", key);
    Files.writeString(tmp.resolve("m.onnx.json"), "{\"std\": [0.2, 0.2]}");
    String std = message(() -> Encoders.load(EncoderRequest.of(Encoders.ONNX).withWeights(model)));
    assertTrue(std.endsWith("std must be three numbers [red, green, blue], got [0.2,0.2]"), std);
  }

  private interface Load {
    void run() throws Exception;
  }

  private static String message(Load load) {
    Exception e = assertThrows(Exception.class, load::run);
    assertTrue(e instanceof IllegalArgumentException || e instanceof java.io.IOException,
        e.toString());
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
    return e.getMessage();
  }

  @Test
  void deviceFollowsTheTasksGpuWhenTheBuildHasCuda() {
    EnumSet<OrtProvider> gpuBuild = EnumSet.of(OrtProvider.CPU, OrtProvider.CUDA);
    EnumSet<OrtProvider> cpuBuild = EnumSet.of(OrtProvider.CPU);
    OnnxDevice onGpu = OnnxDevice.forTask(OptionalInt.of(3), 4, gpuBuild);
    assertEquals(OptionalInt.of(3), onGpu.gpu());
    assertEquals("cuda:3", onGpu.key());
    assertEquals(Map.of("device_id", "3", "arena_extend_strategy", "kSameAsRequested",
        "cudnn_conv_algo_search", "HEURISTIC"), onGpu.cudaOptions());
    // Two tasks on GPUs 0 and 1 of one executor need two sessions.
    assertFalse(OnnxDevice.forTask(OptionalInt.of(0), 4, gpuBuild).key()
        .equals(OnnxDevice.forTask(OptionalInt.of(1), 4, gpuBuild).key()));

    OnnxDevice cpu = OnnxDevice.forTask(OptionalInt.empty(), 2, gpuBuild);
    assertEquals("cpu:2", cpu.key());
    assertEquals(Map.of(), cpu.cudaOptions());
    assertEquals("cpu (onnxruntime, 2 threads)", cpu.describe());

    OnnxDevice fallback = OnnxDevice.forTask(OptionalInt.of(1), 1, cpuBuild);
    assertEquals("cpu:1", fallback.key());
    assertEquals("cpu (onnxruntime, 1 thread); gpu 1 assigned, but this build's ONNX Runtime has"
        + " no CUDA provider; build with -Pgpu", fallback.describe());
    assertThrows(IllegalArgumentException.class, () -> OnnxDevice.cpu(0));
  }

  @Test
  void sessionOptionsCarryTheThreadsAndProvider() throws Exception {
    // On this CPU-only build the CUDA provider cannot be added: one clear failure, not a crash.
    if (!ai.onnxruntime.OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
      OnnxDevice gpu = new OnnxDevice(OptionalInt.of(0), 1, "");
      Exception e = assertThrows(Exception.class, gpu::sessionOptions);
      assertTrue(e instanceof ai.onnxruntime.OrtException, e.toString());
    }
    // A session made with 2 threads runs and records where it runs.
    try (PatchEncoder e = load("cnn.onnx", OnnxOptions.defaults().withDevice(OnnxDevice.cpu(2)))) {
      assertEquals("cpu (onnxruntime, 2 threads)", e.device());
    }
  }
}
