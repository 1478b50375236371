package org.tessera.spark.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Optional;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProvenanceTest {
  static final Configuration CONF = new Configuration();
  static final Provenance.Kind KIND = new Provenance.Kind("params.json", "things made otherwise",
      "use --overwrite, or another --out", Set.of("files"));

  record Inner(int tileSize, Double assumeMpp, double segDownsample) {}

  record Params(Inner tiling, boolean storePixels, String pixelFormat) {}

  @TempDir
  java.nio.file.Path tmp;

  static JsonNode tree(Object value) throws Exception {
    return Json.MAPPER.readTree(Json.bytes(value));
  }

  @Test
  void nonFiniteNumbersAreWrittenAsNullAndReadBackAsNaN() throws Exception {
    record R(double a, float b, Double c, double[] d) {}
    String text = new String(Json.bytes(new R(Double.NaN, Float.POSITIVE_INFINITY, null,
        new double[] {1, Double.NaN})), StandardCharsets.UTF_8);
    assertFalse(text.contains("NaN") || text.contains("Infinity"), text);
    assertTrue(text.contains("\"a\" : null") && text.contains("\"c\" : null"), text);
    R back = Json.MAPPER.readValue(text, R.class);
    assertTrue(Double.isNaN(back.a()) && Float.isNaN(back.b()) && back.c() == null);
  }

  @Test
  void earlierSpellingsOfTheSameParametersAreTheSame() throws Exception {
    JsonNode wanted = tree(new Params(new Inner(256, null, 16), false, null));
    for (String earlier : new String[] {
        "{\"tiling\": {\"tile_size\": 256, \"assume_mpp_or_na_n\": \"NaN\", \"seg_downsample\":"
            + " 16.0}, \"store_pixels\": false}",
        "{\"tiling\": {\"tileSize\": 256, \"assumeMppOrNaN\": NaN, \"segDownsample\": 16},"
            + " \"storePixels\": false, \"files\": [1, 2]}"}) {
      JsonNode old = Json.MAPPER.readTree(earlier);
      assertEquals(Optional.empty(), Provenance.difference(old, wanted, KIND.recordedOnly()),
          earlier);
    }
    JsonNode other = tree(new Params(new Inner(512, null, 16), false, null));
    assertEquals(Optional.of("tiling.tile_size was 256, now 512"),
        Provenance.difference(wanted, other, Set.of()));
    JsonNode assumed = tree(new Params(new Inner(256, 0.5, 16), false, null));
    assertEquals(Optional.of("tiling.assume_mpp was null, now 0.5"),
        Provenance.difference(wanted, assumed, Set.of()));
  }

  @Test
  void overwriteEmptiesTheWholeOutputAndRefusesAForeignFolder() throws Exception {
    java.nio.file.Path out = tmp.resolve("out");
    Path root = new Path(out.toUri());
    Params first = new Params(new Inner(256, null, 16), false, null);
    assertFalse(Provenance.claim(CONF, root, KIND, first, false));
    Files.createDirectories(out.resolve("tiles/part"));
    Files.writeString(out.resolve("tiles/part/a.parquet"), "x");
    Files.writeString(out.resolve("run.txt"), "x");
    assertTrue(Provenance.claim(CONF, root, KIND, first, false));
    Params other = new Params(new Inner(512, null, 16), false, null);
    String refused = assertThrows(IllegalArgumentException.class,
        () -> Provenance.claim(CONF, root, KIND, other, false)).getMessage();
    assertTrue(refused.contains("things made otherwise") && refused.contains("tile_size"),
        refused);
    assertTrue(Files.exists(out.resolve("run.txt")), "a refused claim touches nothing");

    assertFalse(Provenance.claim(CONF, root, KIND, other, true));
    try (var files = Files.list(out)) {
      assertEquals(Set.of("params.json"), Set.copyOf(files.map(p -> p.getFileName().toString())
          .filter(n -> !n.endsWith(".crc") && !n.equals("_tmp")).toList()),
          "only the new provenance file (and the atomic writes' staging folder) is left");
    }
    assertTrue(Files.readString(out.resolve("params.json")).contains("\"tile_size\" : 512"));

    java.nio.file.Path foreign = Files.createDirectories(tmp.resolve("home"));
    Files.writeString(foreign.resolve("notes.txt"), "mine");
    assertThrows(IllegalArgumentException.class,
        () -> Provenance.claim(CONF, new Path(foreign.toUri()), KIND, other, true));
    assertTrue(Files.exists(foreign.resolve("notes.txt")));
  }
}
