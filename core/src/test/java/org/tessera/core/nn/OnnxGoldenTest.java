package org.tessera.core.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.tessera.core.PythonReference;
import org.tessera.core.image.TilePreprocessor;

/**
 * ONNX encoders against PyTorch: torchvision's vit_b_16 (seeded random init) and resnet50-trunc
 * (random weights with non-trivial batch norms) exported by tools/export-onnx, on crops of a real
 * tissue image; and the ONNX resnet50-trunc against the DL4J resnet50-trunc loaded from the same
 * state_dict through safetensors. Needs Debian's torch; fails rather than skips without it.
 *
 * <p>The export takes about a minute on two cores, so its output is kept under
 * target/onnx-golden-HASH, keyed by the exporter's and the golden script's contents.
 */
class OnnxGoldenTest {
  private static final String INSTALL = "apt-get install -y python3-torch python3-torchvision";
  private static final Path IHC_PNG =
      Path.of("../wsi/src/main/resources/org/tessera/wsi/synth/ihc.png");
  static final Path EXPORTER = Path.of("../tools/export-onnx");
  /** Largest |difference| allowed, relative to the L2 norm of the reference feature vector. */
  private static final double TOLERANCE = 1e-4;

  private static Path dir;

  @BeforeAll
  static void export() throws Exception {
    PythonReference.require("torch, torchvision, PIL, numpy", INSTALL);
    Path script = Path.of(OnnxGoldenTest.class.getResource("onnx_golden.py").toURI());
    dir = cached("onnx-golden", script, () ->
        PythonReference.run(script, 900, EXPORTER.toString(), IHC_PNG.toString(),
            cacheDir("onnx-golden", script).toString()));
  }

  @Test
  void vitB16EqualsPyTorchOnTheSamePreprocessedInput() throws Exception {
    try (SafeTensors golden = SafeTensors.open(dir.resolve("golden.safetensors"));
        PatchEncoder vit = Encoders.load(EncoderRequest.of(Encoders.ONNX)
            .withWeights(dir.resolve("vit_b_16.onnx")))) {
      assertEquals(768, vit.featureDim());
      assertEquals(224, vit.inputSize());
      assertEquals("tokens:cls", vit.spec().cutLayer());
      assertEquals(Encoders.sha256(dir.resolve("vit_b_16.onnx")), vit.spec().weightsSha256());
      double rel = maxRelative(vit.embed(array(golden, "input")), array(golden, "vit"));
      System.out.printf("vit_b_16 ONNX vs PyTorch, same input: max |diff| / ||f|| = %.3g%n", rel);
      assertTrue(rel <= TOLERANCE, "vit_b_16: " + rel + " > " + TOLERANCE);
    }
  }

  @Test
  void vitB16EqualsPyTorchThroughEachSidesPreprocessing() throws Exception {
    try (SafeTensors golden = SafeTensors.open(dir.resolve("golden.safetensors"));
        PatchEncoder vit = Encoders.load(EncoderRequest.of(Encoders.ONNX)
            .withWeights(dir.resolve("vit_b_16.onnx")))) {
      float[] pixels = golden.floats("pixels");
      long[] shape = golden.info("pixels").shape();
      int n = (int) shape[0];
      int s = (int) shape[1];
      TilePreprocessor pre = new TilePreprocessor(vit.preprocessing());
      float[] batch = new float[n * pre.floatsPerTile()];
      for (int i = 0; i < n; i++) {
        int[] rgb = new int[s * s];
        for (int p = 0; p < s * s; p++) {
          int o = (i * s * s + p) * 3;
          rgb[p] = ((int) pixels[o] << 16) | ((int) pixels[o + 1] << 8) | (int) pixels[o + 2];
        }
        pre.toChw(rgb, s, s, batch, i);
      }
      INDArray ours = Nd4j.create(vit.embed(batch, n), new long[] {n, vit.featureDim()}, 'c');
      double rel = maxRelative(ours, array(golden, "vit_pixels"));
      System.out.printf("vit_b_16 ONNX vs PyTorch, each side's preprocessing: max |diff| / ||f|| "
          + "= %.3g%n", rel);
      assertTrue(rel <= TOLERANCE, "vit_b_16 from pixels: " + rel + " > " + TOLERANCE);
    }
  }

  @Test
  void resnet50TruncEqualsPyTorchAndTheDl4jEncoder() throws Exception {
    Path weights = dir.resolve("resnet50.safetensors");
    try (SafeTensors golden = SafeTensors.open(dir.resolve("golden.safetensors"));
        PatchEncoder onnx = Encoders.load(EncoderRequest.of(Encoders.ONNX)
            .withWeights(dir.resolve("resnet50-trunc.onnx")));
        PatchEncoder dl4j = Encoders.load(EncoderRequest.of("resnet50-trunc")
            .withWeights(weights))) {
      INDArray input = array(golden, "input");
      INDArray expected = array(golden, "resnet");
      INDArray ours = onnx.embed(input);
      assertArrayEquals(expected.shape(), ours.shape());
      assertEquals("features", onnx.spec().cutLayer());
      double vsTorch = maxRelative(ours, expected);
      double vsDl4j = maxRelative(ours, dl4j.embed(input));
      System.out.printf("resnet50-trunc ONNX: max |diff| / ||f|| = %.3g vs PyTorch, %.3g vs "
          + "DL4J%n", vsTorch, vsDl4j);
      assertTrue(vsTorch <= TOLERANCE, "resnet50-trunc vs PyTorch: " + vsTorch);
      assertTrue(vsDl4j <= TOLERANCE, "resnet50-trunc vs DL4J: " + vsDl4j);
    }
  }

  /** max over rows of max_j |a_ij - b_ij| / ||b_i||. */
  static double maxRelative(INDArray a, INDArray b) {
    assertArrayEquals(b.shape(), a.shape());
    double worst = 0;
    for (int i = 0; i < b.size(0); i++) {
      INDArray diff = a.getRow(i).sub(b.getRow(i));
      double norm = b.getRow(i).norm2Number().doubleValue();
      worst = Math.max(worst, diff.amaxNumber().doubleValue() / norm);
    }
    return worst;
  }

  private static INDArray array(SafeTensors st, String name) {
    return Nd4j.create(st.floats(name), st.info(name).shape(), 'c');
  }

  interface Maker {
    void make() throws Exception;
  }

  /** target/NAME-HASH, keyed by the exporter's and {@code script}'s contents. */
  static Path cacheDir(String name, Path script) throws Exception {
    MessageDigest d = MessageDigest.getInstance("SHA-256");
    d.update(Files.readAllBytes(EXPORTER));
    d.update(Files.readAllBytes(script));
    return Path.of("target", name + "-" + HexFormat.of().formatHex(d.digest()).substring(0, 12));
  }

  /** The cache folder, made by {@code maker} unless a finished one is there. */
  static Path cached(String name, Path script, Maker maker) throws Exception {
    Path d = cacheDir(name, script);
    Path done = d.resolve("done");
    if (!Files.exists(done)) {
      deleteTree(d);
      Files.createDirectories(d);
      maker.make();
      Files.writeString(done, "");
    }
    return d;
  }

  private static void deleteTree(Path d) throws IOException {
    if (Files.exists(d)) {
      try (var s = Files.walk(d)) {
        for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
  }
}
