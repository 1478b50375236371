package org.tessera.core.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class StainNormalizersTest {
  private static final int SIZE = 96;
  private static final RgbImage REFERENCE = new RgbImage(SyntheticStains.tile(
      SyntheticStains.SHIFTED_H, SyntheticStains.SHIFTED_E, SIZE, 0.2, 1, 1.5, 41), SIZE, SIZE);

  @Test
  void namesSelectTheDefaults() {
    assertSame(StainNormalizers.none(), StainNormalizers.byName("none", Optional.empty()));
    assertEquals(MacenkoNormalizer.defaults(),
        StainNormalizers.byName("macenko", Optional.empty()));
    assertEquals(ReinhardNormalizer.defaults(),
        StainNormalizers.byName(" Reinhard ", Optional.empty()));
  }

  @Test
  void aReferenceImageFitsTheNormaliser() {
    StainNormalizer macenko = StainNormalizers.byName("macenko", Optional.of(REFERENCE));
    assertEquals(MacenkoNormalizer.fit(REFERENCE.pixels(), SIZE, SIZE), macenko);
    StainNormalizer reinhard = StainNormalizers.byName("reinhard", Optional.of(REFERENCE));
    assertEquals(ReinhardNormalizer.fit(REFERENCE.pixels(), SIZE, SIZE), reinhard);
    assertNotEquals(MacenkoNormalizer.defaults().describe(), macenko.describe());
    assertNotEquals(ReinhardNormalizer.defaults().describe(), reinhard.describe());
  }

  @Test
  void errorsAreOneLineAndNameTheFix() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> StainNormalizers.byName("vahadane", Optional.empty()));
    assertEquals("unknown stain normalisation 'vahadane' (--stain-norm): use one of none, "
        + "macenko, reinhard", e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> StainNormalizers.byName("none", Optional.of(REFERENCE)));
    assertTrue(e.getMessage().contains("takes no reference"), e.getMessage());
    int[] white = new int[SIZE * SIZE];
    Arrays.fill(white, 0xffffff);
    for (String name : List.of("macenko", "reinhard")) {
      e = assertThrows(IllegalArgumentException.class, () -> StainNormalizers.byName(name,
          Optional.of(new RgbImage(white, SIZE, SIZE))));
      assertTrue(e.getMessage().contains("reference image") && !e.getMessage().contains("\n"),
          e.getMessage());
    }
    e = assertThrows(IllegalArgumentException.class, () -> new RgbImage(new int[3], 2, 2));
    assertTrue(e.getMessage().contains("needs 4 pixels, got 3"), e.getMessage());
  }

  @Test
  void normalisersAndConfigsSurviveSerialisation() throws Exception {
    List<StainNormalizer> all = List.of(StainNormalizers.none(), MacenkoNormalizer.defaults(),
        ReinhardNormalizer.defaults(), StainNormalizers.byName("macenko", Optional.of(REFERENCE)),
        StainNormalizers.byName("reinhard", Optional.of(REFERENCE)));
    Set<String> descriptions = new HashSet<>();
    for (StainNormalizer n : all) {
      StainNormalizer copy = roundTrip(n);
      assertEquals(n, copy);
      assertEquals(n.describe(), copy.describe());
      assertTrue(descriptions.add(n.describe()), "descriptions differ: " + n.describe());
      int[] tile = REFERENCE.pixels();
      assertEquals(Arrays.toString(n.normalize(tile, SIZE, SIZE)),
          Arrays.toString(copy.normalize(tile, SIZE, SIZE)));
    }
    assertSame(StainNormalizers.none(), roundTrip(StainNormalizers.none()));

    TilePreprocessor.Config config =
        TilePreprocessor.Config.imagenet(224).withStainNormalizer(MacenkoNormalizer.defaults());
    TilePreprocessor.Config copy = roundTrip(config);
    assertEquals(config, copy);
    assertEquals(config.describe(), copy.describe());
    assertTrue(config.describe().contains("stain=macenko(io=240.0"), config.describe());
  }

  @Test
  void deserialisationValidatesAgain() throws Exception {
    // A record is rebuilt through its constructor, so a stream cannot smuggle in bad values.
    byte[] bytes = serialise(new ReinhardNormalizer.LabStats(8, 0, 0, 0.5, 0.1, 0.01));
    int at = indexOf(bytes, doubleBytes(0.01));
    byte[] zero = doubleBytes(0);
    System.arraycopy(zero, 0, bytes, at, zero.length);
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes))) {
      Exception e = assertThrows(Exception.class, in::readObject);
      assertInstanceOf(IllegalArgumentException.class,
          e instanceof IllegalArgumentException ? e : e.getCause(), e.toString());
    }
  }

  @SuppressWarnings("unchecked")
  private static <T> T roundTrip(T value) throws IOException, ClassNotFoundException {
    try (ObjectInputStream in =
        new ObjectInputStream(new ByteArrayInputStream(serialise(value)))) {
      return (T) in.readObject();
    }
  }

  private static byte[] serialise(Object value) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(value);
    }
    return bytes.toByteArray();
  }

  private static byte[] doubleBytes(double v) {
    long bits = Double.doubleToLongBits(v);
    byte[] b = new byte[8];
    for (int i = 0; i < 8; i++) {
      b[i] = (byte) (bits >>> (56 - 8 * i));
    }
    return b;
  }

  private static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    throw new AssertionError("value not found in the serialised form");
  }
}
