package org.tessera.spark.importer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.tessera.spark.cli.TesseraCliTest.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.example.data.Group;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tessera.spark.SparkTestSupport;
import org.tessera.spark.cli.TesseraCliTest.Result;
import org.tessera.spark.io.FeatureTable;
import org.tessera.spark.io.ParquetRows;
import org.tessera.spark.io.RangeCommit;

class ImportStageTest {
  static SparkSession spark;

  @TempDir
  Path tmp;

  @BeforeAll
  static void start() {
    spark = SparkTestSupport.localSession("ImportStageTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  /**
   * Writes CLAM-style files with h5py: good slides in float32 (int coords, patch_level 1), float64
   * (float coords) and float16, one without coords, one with a NaN, one with D=3. Beside the folder,
   * {@code <name>.f32} and {@code <name>.xy} hold the expected float32 features and int64 coords
   * little-endian, in the files' order.
   */
  private static final String MAKE_H5 = """
      import sys, numpy as np
      try:
          import h5py
      except ImportError:
          sys.exit("h5py is missing: apt-get install -y python3-h5py")
      out, ref = sys.argv[1], sys.argv[2]
      rng = np.random.default_rng(5)
      def write(name, feats, coords, level=None, skip=()):
          with h5py.File(f"{out}/{name}.h5", "w") as f:
              if "features" not in skip:
                  f["features"] = feats
              if "coords" not in skip:
                  f["coords"] = coords
                  if level is not None:
                      f["coords"].attrs["patch_level"] = level
          feats.astype(np.float32).astype("<f4").tofile(f"{ref}/{name}.f32")
          np.rint(coords).astype("<i8").tofile(f"{ref}/{name}.xy")
      def grid(n, step):
          pts = [(x * step, y * step) for y in range(4) for x in range(4)][:n]
          idx = rng.permutation(n)
          return np.array(pts)[idx]
      write("s1", rng.standard_normal((7, 4)).astype(np.float32), grid(7, 256).astype(np.int64), 1)
      write("s2", rng.standard_normal((5, 4)), grid(5, 512).astype(np.float64))
      write("s3", rng.standard_normal((6, 4)).astype(np.float16), grid(6, 224).astype(np.int32))
      write("bad_missing", rng.standard_normal((3, 4)).astype(np.float32), grid(3, 1), skip=("coords",))
      nan = rng.standard_normal((4, 4)).astype(np.float32); nan[2, 1] = np.nan
      write("bad_nan", nan, grid(4, 256).astype(np.int64))
      write("odd_dim", rng.standard_normal((4, 3)).astype(np.float32), grid(4, 256).astype(np.int64))
      """;

  private static void makeH5(Path dir, Path ref) throws Exception {
    Files.createDirectories(dir);
    Files.createDirectories(ref);
    Process p = new ProcessBuilder("/usr/bin/python3", "-c", MAKE_H5, dir.toString(),
        ref.toString()).redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new AssertionError("writing test .h5 files failed (needs Debian's python3-h5py and"
          + " python3-numpy: apt-get install -y python3-h5py): " + log);
    }
  }

  private static float[] floats(Path file) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    float[] v = new float[b.remaining() / 4];
    b.asFloatBuffer().get(v);
    return v;
  }

  private static long[] longs(Path file) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    long[] v = new long[b.remaining() / 8];
    b.asLongBuffer().get(v);
    return v;
  }

  /** A slide's committed feature rows, in file order. */
  private static List<Group> rows(Path feat, String id) throws IOException {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    var parts = RangeCommit.partsOf(conf,
        new org.apache.hadoop.fs.Path(feat.resolve(FeatureTable.DIR).toUri()), id);
    assertEquals(1, parts.size(), id);
    return ParquetRows.readRange(conf, parts, 0, 1000);
  }

  /** Checks a slide against its reference: same instances, sorted by (y, x), values exact. */
  private static void assertSlide(Path feat, Path ref, String id, int level) throws IOException {
    float[] f = floats(ref.resolve(id + ".f32"));
    long[] xy = longs(ref.resolve(id + ".xy"));
    int n = xy.length / 2;
    int dim = f.length / n;
    Integer[] order = new Integer[n];
    Arrays.setAll(order, i -> i);
    Arrays.sort(order, (a, b) -> xy[2 * a + 1] != xy[2 * b + 1]
        ? Long.compare(xy[2 * a + 1], xy[2 * b + 1]) : Long.compare(xy[2 * a], xy[2 * b]));
    List<Group> rows = rows(feat, id);
    assertEquals(n, rows.size(), id);
    for (int k = 0; k < n; k++) {
      int i = order[k];
      Group g = rows.get(k);
      assertEquals(id, g.getString("slide_id", 0));
      assertEquals(xy[2 * i], g.getLong("x", 0), id + " x of row " + k);
      assertEquals(xy[2 * i + 1], g.getLong("y", 0), id + " y of row " + k);
      assertEquals(level, g.getInteger("level", 0));
      Group list = g.getGroup("features", 0);
      float[] got = new float[list.getFieldRepetitionCount("list")];
      for (int j = 0; j < got.length; j++) {
        got[j] = list.getGroup("list", j).getFloat("element", 0);
      }
      assertArrayEquals(Arrays.copyOfRange(f, i * dim, (i + 1) * dim), got, 0f, id + " row " + k);
    }
  }

  private static Map<String, Row> slideRows(Path feat) {
    Map<String, Row> byId = new HashMap<>();
    for (Row r : spark.read().parquet(feat.resolve("slides").toString()).collectAsList()) {
      byId.put(r.getAs("slide_id"), r);
    }
    return byId;
  }

  private static ImportStage.Summary run(ImportStage.Format format, Path in, Path out,
      boolean overwrite) throws IOException {
    return ImportStage.run(spark, format, in.toString(), out.toString(), overwrite,
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
  }

  @Test
  void importsClamStyleFilesExactlyAndFailsOnlyTheBadSlides() throws Exception {
    Path h5 = tmp.resolve("h5");
    Path ref = tmp.resolve("ref");
    makeH5(h5, ref);
    Path feat = tmp.resolve("feat");
    ImportStage.Summary s = run(ImportStage.Format.H5, h5, feat, false);
    assertEquals(6, s.listed());
    assertEquals(3, s.ok());
    assertEquals(3, s.failed());
    assertEquals(4, s.featureDim());
    assertEquals(18, s.instances());

    assertSlide(feat, ref, "s1", 1);
    assertSlide(feat, ref, "s2", 0);
    assertSlide(feat, ref, "s3", 0);
    // s1 lies on a 256-px grid: col and row count grid steps.
    for (Group g : rows(feat, "s1")) {
      assertEquals(g.getLong("x", 0) / 256, g.getInteger("col", 0));
      assertEquals(g.getLong("y", 0) / 256, g.getInteger("row", 0));
    }

    Map<String, Row> slides = slideRows(feat);
    assertEquals(6, slides.size());
    assertEquals("ok", slides.get("s1").getAs("status"));
    assertEquals(7L, (long) slides.get("s1").getAs("tile_count"));
    assertEquals(4, (int) slides.get("s1").getAs("feature_dim"));
    for (String bad : List.of("bad_missing", "bad_nan", "odd_dim")) {
      assertEquals("failed", slides.get(bad).getAs("status"), bad);
      String why = slides.get(bad).getAs("error");
      assertFalse(why.contains("\n"), why);
      assertTrue(why.contains(bad + ".h5"), why);
      assertEquals(why, s.failures().get(bad));
      assertTrue(RangeCommit.partsOf(spark.sparkContext().hadoopConfiguration(),
          new org.apache.hadoop.fs.Path(feat.resolve(FeatureTable.DIR).toUri()), bad).isEmpty());
    }
    assertTrue(s.failures().get("bad_missing").contains("no coords dataset"));
    assertTrue(s.failures().get("bad_nan").contains("feature 1 of instance 2 is NaN"));
    assertTrue(s.failures().get("odd_dim").contains("3 features per instance but the other slides"
        + " have 4"));

    JsonNode m = new ObjectMapper().readTree(feat.resolve("manifest.json").toFile());
    assertEquals("imported", m.at("/encoder/name").asText());
    assertEquals(4, m.at("/encoder/feature_dim").asInt());
    assertEquals("h5", m.get("format").asText());
    assertEquals(h5.toAbsolutePath().normalize().toString(), m.get("source").asText());
    assertEquals(6, m.get("files").size());
    assertEquals(Files.size(h5.resolve("s1.h5")), m.at("/files/3/bytes").asLong());
    assertEquals("s1.h5", m.at("/files/3/file").asText());

    // Spark reads the output as embed writes it: features are array<float>.
    var df = spark.read().parquet(feat.resolve(FeatureTable.DIR).toString());
    assertEquals("array<float>", df.schema().apply("features").dataType().simpleString());
    assertEquals(18, df.count());

    ImportStage.Summary again = run(ImportStage.Format.H5, h5, feat, false);
    assertEquals(3, again.skipped());
    assertEquals(3, again.processed());
    assertEquals(0, again.ok());
    assertEquals(18, spark.read().parquet(feat.resolve(FeatureTable.DIR).toString()).count());

    ImportStage.Summary redo = run(ImportStage.Format.H5, h5, feat, true);
    assertEquals(6, redo.processed());
    assertEquals(3, redo.ok());
    assertEquals(18, spark.read().parquet(feat.resolve(FeatureTable.DIR).toString()).count());
    assertSlide(feat, ref, "s2", 0);
  }

  @Test
  void importsACsvInAnyRowOrder() throws Exception {
    List<String> lines = new ArrayList<>();
    Random r = new Random(3);
    Map<String, float[]> expected = new HashMap<>();
    for (String id : List.of("a", "b")) {
      for (int y = 0; y < 3; y++) {
        for (int x = 0; x < 2; x++) {
          float[] f = {r.nextFloat(), -r.nextFloat() * 1e-7f, r.nextFloat() * 1e6f};
          expected.put(id + "/" + x + "/" + y, f);
          lines.add(id + "," + (x * 100) + "," + (y * 100) + "," + f[0] + "," + f[1] + "," + f[2]
              + ",extra");
        }
      }
    }
    lines.add("c,0,0,1,NaN,2,extra");
    lines.add("d,0,0,1,2,x,extra");
    Collections.shuffle(lines, r);
    Path csv = tmp.resolve("features.csv");
    Files.writeString(csv, "slide_id,x,y,f0,f1,f2,note\n" + String.join("\n", lines) + "\n");
    Path feat = tmp.resolve("feat-csv");
    ImportStage.Summary s = run(ImportStage.Format.CSV, csv, feat, false);
    assertEquals(4, s.listed());
    assertEquals(2, s.ok());
    assertEquals(12, s.instances());
    assertTrue(s.failures().get("c").contains("feature 1 of instance 0 is NaN"),
        s.failures().get("c"));
    assertTrue(s.failures().get("d").matches(".*features.csv line \\d+: .*"),
        s.failures().get("d"));
    for (String id : List.of("a", "b")) {
      List<Group> rows = rows(feat, id);
      assertEquals(6, rows.size());
      for (int k = 0; k < 6; k++) {
        Group g = rows.get(k);
        int x = k % 2;
        int y = k / 2;
        assertEquals(x * 100L, g.getLong("x", 0));
        assertEquals(y * 100L, g.getLong("y", 0));
        assertEquals(x, g.getInteger("col", 0));
        assertEquals(y, g.getInteger("row", 0));
        float[] want = expected.get(id + "/" + x + "/" + y);
        Group list = g.getGroup("features", 0);
        for (int j = 0; j < 3; j++) {
          assertEquals(want[j], list.getGroup("list", j).getFloat("element", 0));
        }
      }
    }
    JsonNode m = new ObjectMapper().readTree(feat.resolve("manifest.json").toFile());
    assertEquals("csv", m.get("format").asText());
    assertEquals(64, m.at("/files/0/sha256").asText().length());
    assertEquals(2, run(ImportStage.Format.CSV, csv, feat, false).skipped());
    assertEquals(12, spark.read().parquet(feat.resolve(FeatureTable.DIR).toString()).count());

    // The same output refuses another source unless it is overwritten.
    Path other = tmp.resolve("other.csv");
    Files.copy(csv, other);
    String refused = assertThrows(IllegalArgumentException.class,
        () -> run(ImportStage.Format.CSV, other, feat, false)).getMessage();
    assertTrue(refused.contains("source was") && refused.contains("--overwrite"), refused);

    // Overwritten with a source that has slide a only, the output holds a only: rows of slides
    // the new source does not list go with the rest of the earlier run.
    Files.writeString(other, "slide_id,x,y,f0,f1,f2\n" + String.join("\n", lines.stream()
        .filter(l -> l.startsWith("a,")).map(l -> l.substring(0, l.lastIndexOf(','))).toList())
        + "\n");
    ImportStage.Summary redone = run(ImportStage.Format.CSV, other, feat, true);
    assertEquals(1, redone.ok());
    assertEquals(6, spark.read().parquet(feat.resolve(FeatureTable.DIR).toString()).count());
    assertEquals(List.of("a"), spark.read().parquet(feat.resolve("slides").toString())
        .select("slide_id").as(org.apache.spark.sql.Encoders.STRING()).collectAsList());
  }

  @Test
  void csvProblemsOfTheWholeFileAreOneLine() throws Exception {
    Path csv = tmp.resolve("bad.csv");
    Files.writeString(csv, "slide_id,x,y,f0,f1\na,0,0,1,2\na,1,0,1\n");
    String width = assertThrows(IllegalArgumentException.class,
        () -> CsvFeatures.read(csv)).getMessage();
    assertEquals(csv + " line 3: 4 fields but the header has 5: every row needs the same columns"
        + " (2 features)", width);
    Files.writeString(csv, "slide_id,x,y,f0,f2\na,0,0,1,2\n");
    assertTrue(assertThrows(IllegalArgumentException.class, () -> CsvFeatures.read(csv))
        .getMessage().contains("column f2 but no f1"));
    Files.writeString(csv, "slide,x,y,f0\na,0,0,1\n");
    assertTrue(assertThrows(IllegalArgumentException.class, () -> CsvFeatures.read(csv))
        .getMessage().startsWith(csv + " line 1: no slide_id column"));
    Files.writeString(csv, "slide_id,x,y,f0\n../a,0,0,1\n");
    assertTrue(assertThrows(IllegalArgumentException.class, () -> CsvFeatures.read(csv))
        .getMessage().startsWith(csv + " line 2: slide_id '../a' is not a slide id"));
  }

  @Test
  void commandTakesExactlyOneSource() throws Exception {
    Result both = cli("import-features", "--h5", "a", "--csv", "b", "--out", "c");
    Result neither = cli("import-features", "--out", "c");
    Result help = cli("import-features", "--help");
    Result missing = cli("import-features", "--h5", tmp.resolve("none").toString(), "--out",
        tmp.resolve("o").toString());
    assertEquals(2, both.code());
    assertEquals(2, neither.code());
    assertEquals(0, help.code());
    assertEquals(1, missing.code());
    String text = both.out() + both.err() + neither.out() + neither.err() + help.out() + help.err()
        + missing.out() + missing.err();
    assertTrue(text.contains("Usage: tessera import-features"), text);
    assertTrue(text.contains("tessera import-features: " + tmp.resolve("none")
        + " is not a folder"), text);
  }
}
