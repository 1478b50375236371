package org.tessera.spark.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.JavaSerializer;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.SerializerInstance;
import org.junit.jupiter.api.Test;
import org.tessera.core.train.BagStep;
import org.tessera.wsi.tiling.TilingParams;
import org.tessera.wsi.tissue.TissueParams;
import scala.reflect.ClassTag$;

class TesseraKryoTest {
  private record Inner(String name, float[] values, List<Integer> ids) {}

  private record Outer(long id, Inner inner, Map<String, Integer> counts, Set<String> tags,
      Object anything, Inner missing) {}

  private static SerializerInstance kryo(boolean registered) {
    SparkConf conf = new SparkConf(false).set("spark.serializer", KryoSerializer.class.getName());
    if (registered) {
      conf.set("spark.kryo.registrator", TesseraKryo.class.getName());
    }
    return new KryoSerializer(conf).newInstance();
  }

  @SuppressWarnings("unchecked")
  private static <T> T roundTrip(SerializerInstance s, T value) {
    ByteBuffer bytes = s.serialize(value, ClassTag$.MODULE$.apply(Object.class));
    return (T) s.deserialize(bytes, ClassTag$.MODULE$.apply(Object.class));
  }

  @Test
  void recordsAndImmutableCollectionsSurviveKryo() {
    Outer value = new Outer(7L, new Inner("a", new float[] {1f, -2.5f}, List.of(3, 1, 2)),
        Map.of("x", 1, "y", 2), Set.of("t"), new Inner("b", null, List.of()), null);
    Outer back = roundTrip(kryo(true), value);
    assertEquals(7L, back.id());
    assertEquals("a", back.inner().name());
    assertArrayEquals(new float[] {1f, -2.5f}, back.inner().values());
    assertEquals(List.of(3, 1, 2), back.inner().ids());
    assertEquals(Map.of("x", 1, "y", 2), back.counts());
    assertEquals(Set.of("t"), back.tags());
    assertEquals("b", ((Inner) back.anything()).name());
    assertNull(back.missing());
    // Still unmodifiable after the trip, as List.of promised.
    assertThrows(UnsupportedOperationException.class, () -> back.inner().ids().add(4));
  }

  /** Records the stages ship, with nested records and enums inside. */
  @Test
  void stageRecordsSurviveKryo() {
    SerializerInstance s = kryo(true);
    BagStep step = new BagStep("slide_003", 1, 42L);
    assertEquals(step, roundTrip(s, step));
    TilingParams tiling = new TilingParams(0.5, 256, 256, 0.5, 16, null,
        TissueParams.defaults());
    assertEquals(tiling, roundTrip(s, tiling));
    List<Object> mixed = Collections.unmodifiableList(new ArrayList<>(List.of(step, "x")));
    assertEquals(mixed, roundTrip(s, mixed));
  }

  /** Why the registrator exists: Spark's Kryo alone cannot rebuild a record on Java 17. */
  @Test
  void plainKryoFailsOnRecords() {
    SerializerInstance plain = kryo(false);
    Inner value = new Inner("a", new float[] {1f}, new ArrayList<>(List.of(1)));
    assertThrows(RuntimeException.class, () -> roundTrip(plain, value));
  }

  @Test
  void configureAddsKryoUnlessAnotherSerializerIsChosen() {
    SparkConf empty = new SparkConf(false);
    TesseraKryo.configure(empty);
    assertEquals(KryoSerializer.class.getName(), empty.get("spark.serializer"));
    assertEquals(TesseraKryo.class.getName(), empty.get("spark.kryo.registrator"));
    assertNull(TesseraKryo.problem(empty));

    SparkConf other = new SparkConf(false).set("spark.serializer", KryoSerializer.class.getName())
        .set("spark.kryo.registrator", "com.example.Mine");
    assertTrue(TesseraKryo.problem(other).contains("spark.kryo.registrator="
        + TesseraKryo.class.getName()), TesseraKryo.problem(other));
    TesseraKryo.configure(other);
    assertEquals("com.example.Mine," + TesseraKryo.class.getName(),
        other.get("spark.kryo.registrator"));
    TesseraKryo.configure(other);
    assertEquals("com.example.Mine," + TesseraKryo.class.getName(),
        other.get("spark.kryo.registrator"));

    SparkConf java = new SparkConf(false).set("spark.serializer", JavaSerializer.class.getName());
    TesseraKryo.configure(java);
    assertEquals(JavaSerializer.class.getName(), java.get("spark.serializer"));
    assertNull(TesseraKryo.problem(java));
  }
}
