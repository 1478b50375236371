package org.tessera.core.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class EncodersTest {

  @TempDir Path dir;

  private static INDArray tiles(int n, int size, long seed) {
    Nd4j.getRandom().setSeed(seed);
    return Nd4j.rand(DataType.FLOAT, n, 3, size, size).subi(0.5).muli(4);
  }

  @Test
  void smallCnnIsDeterministicPerSeed() throws IOException {
    INDArray x = tiles(5, 128, 1);
    INDArray a;
    INDArray b;
    INDArray c;
    try (PatchEncoder e = Encoders.load(EncoderRequest.of("small-cnn").withRandomInit(7))) {
      assertEquals(new EncoderSpec("small-cnn", "random-init:7", "block4", 128, 256), e.spec());
      assertEquals(128, e.inputSize());
      assertEquals(256, e.featureDim());
      a = e.embed(x);
      assertArrayEquals(new long[] {5, 256}, a.shape());
      assertEquals(DataType.FLOAT, a.dataType());
      // Batching must not change a tile's features.
      assertTrue(e.embed(x.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(2, 3)).dup())
          .equalsWithEps(a.getRow(2, true), 1e-5));
    }
    try (PatchEncoder e = Encoders.load(EncoderRequest.of("small-cnn").withRandomInit(7))) {
      b = e.embed(x);
    }
    try (PatchEncoder e = Encoders.load(EncoderRequest.of("small-cnn").withRandomInit(8))) {
      c = e.embed(x);
    }
    assertArrayEquals(a.data().asFloat(), b.data().asFloat(), "same seed, same features");
    assertFalse(a.equalsWithEps(c, 1e-3));
    assertTrue(a.minNumber().doubleValue() >= 0, "post-ReLU averages are non-negative");
    assertTrue(a.maxNumber().doubleValue() > 0);
  }

  @Test
  void halfPrecisionGivesFloatFeaturesCloseToFullPrecision() throws IOException {
    INDArray x = tiles(4, 128, 5);
    INDArray full;
    try (PatchEncoder e = Encoders.load(EncoderRequest.of("small-cnn").withRandomInit(7))) {
      full = e.embed(x);
    }
    try (PatchEncoder e = Encoders.load(
        EncoderRequest.of("small-cnn").withRandomInit(7).withHalfPrecision(true))) {
      assertEquals(new EncoderSpec("small-cnn", "random-init:7", "block4", 128, 256, "fp16"),
          e.spec());
      INDArray half = e.embed(x);
      assertEquals(DataType.FLOAT, half.dataType());
      assertArrayEquals(full.shape(), half.shape());
      double scale = full.amaxNumber().doubleValue();
      double diff = half.sub(full).amaxNumber().doubleValue();
      // 16-bit floats carry about three significant digits; the network ran in them, not just
      // the output, so the features differ, but only at that level.
      assertTrue(diff > 0, "fp16 features are bit-identical to fp32: the cast did not happen");
      assertTrue(diff < 2e-2 * scale, "fp16 features differ by " + diff + " at scale " + scale);
    }
  }

  @Test
  void smallCnnRunsAtARequestedSize() throws IOException {
    try (PatchEncoder e = Encoders.load(
        EncoderRequest.of("small-cnn").withRandomInit(1).withInputSize(224))) {
      assertEquals(224, e.spec().inputSize());
      assertArrayEquals(new long[] {2, 256}, e.embed(tiles(2, 224, 2)).shape());
    }
  }

  @Test
  void architecturesNeedWeightsOrAnExplicitRandomInit() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Encoders.load(EncoderRequest.of("resnet50-trunc")));
    assertEquals("resnet50-trunc needs weights: pass --weights FILE (torchvision safetensors, "
        + "DL4J zip or Keras .h5) or --random-init for an untrained network", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Encoders.load(
        EncoderRequest.of("small-cnn").withRandomInit(1).withWeights(dir.resolve("w"))));
    assertEquals("small-cnn: pass either --weights or --random-init, not both", e.getMessage());
  }

  @Test
  void unknownNamesAndFormatsAreExplained() throws IOException {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Encoders.load(EncoderRequest.of("resnet18")));
    assertEquals("unknown encoder 'resnet18': use resnet50-trunc, small-cnn or the path of a "
        + "model file (DL4J zip, Keras .h5)", e.getMessage());

    Path gone = dir.resolve("model.zip");
    e = assertThrows(IllegalArgumentException.class,
        () -> Encoders.load(EncoderRequest.of(gone.toString())));
    assertEquals("model file " + gone + " does not exist", e.getMessage());

    Path missing = dir.resolve("none.safetensors");
    e = assertThrows(IllegalArgumentException.class,
        () -> Encoders.load(EncoderRequest.of("small-cnn").withWeights(missing)));
    assertEquals("weights file " + missing + " does not exist", e.getMessage());

    Path text = Files.writeString(dir.resolve("weights.txt"), "not weights at all");
    e = assertThrows(IllegalArgumentException.class,
        () -> Encoders.load(EncoderRequest.of("small-cnn").withWeights(text)));
    assertEquals(text + ": unknown weights format; expected torchvision safetensors, a DL4J "
        + "model zip or a Keras .h5", e.getMessage());
  }

  @Test
  void rejectsBatchesOfTheWrongShapeOrType() throws IOException {
    try (PatchEncoder e = Encoders.load(EncoderRequest.of("small-cnn").withRandomInit(1))) {
      IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
          () -> e.embed(Nd4j.zeros(DataType.FLOAT, 2, 3, 224, 224)));
      assertEquals("encoder small-cnn takes FLOAT [B, 3, 128, 128], got FLOAT [2, 3, 224, 224]",
          ex.getMessage());
      ex = assertThrows(IllegalArgumentException.class,
          () -> e.embed(Nd4j.zeros(DataType.DOUBLE, 2, 3, 128, 128)));
      assertTrue(ex.getMessage().endsWith("got DOUBLE [2, 3, 128, 128]"), ex.getMessage());
    }
  }

  @Test
  void resnetRandomInitHasTheTruncatedShape() throws IOException {
    try (PatchEncoder e = Encoders.load(EncoderRequest.of("resnet50-trunc").withRandomInit(3))) {
      assertEquals(new EncoderSpec("resnet50-trunc", "random-init:3", "layer3", 224, 1024),
          e.spec());
      INDArray f = e.embed(tiles(2, 224, 3));
      assertArrayEquals(new long[] {2, 1024}, f.shape());
      assertTrue(f.maxNumber().doubleValue() > 0);
    }
  }
}
