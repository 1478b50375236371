package org.tessera.spark.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.tessera.spark.cli.TesseraCliTest.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.tessera.spark.SparkTestSupport;
import org.tessera.spark.cli.TesseraCliTest.Result;
import org.tessera.wsi.synth.SynthCohort;

/**
 * Every subcommand against a table of bad inputs. Good outputs are made first (tiles, features,
 * imported features, a finished and evaluated train run, a finished run not yet evaluated, an
 * unfinished one); each bad command line then runs against them and must exit non-zero with a
 * single line on stderr that names the file or option at fault, print no stack trace, and leave
 * every byte it was pointed at as it was. Bad slides and bad feature rows (NaN, infinite or not
 * a number), which fail alone while the rest of the job goes on, have cases of their own.
 */
class BadInputCorpusTest {
  static SparkSession spark;

  @TempDir
  static Path tmp;

  static Path slides;
  static Path tiles;
  static Path feat;
  static Path imported;
  static Path labels;
  static Path run;
  static Path unevaluated;
  static Path unfinished;
  static Path kept;
  static Path noTiles;
  static Path nope;

  @BeforeAll
  static void goodOutputs() throws Exception {
    spark = SparkTestSupport.localSession("BadInputCorpusTest");
    slides = SparkTestSupport.cohort().resolve(SynthCohort.SLIDES_DIR);
    nope = tmp.resolve("nope");
    tiles = tmp.resolve("tiles");
    ok(cli("tile", "--slides", slides.toString(), "--out", tiles.toString(), "--assume-mpp",
        "0.5"));
    feat = tmp.resolve("feat");
    ok(cli("embed", "--tiles", tiles.toString(), "--out", feat.toString(), "--encoder",
        "small-cnn", "--random-init", "--input-size", "32"));
    imported = tmp.resolve("imported");
    Path csv = write("good-features.csv", "slide_id,x,y,f0,f1\na,0,0,1,2\na,256,0,3,4\n"
        + "b,0,0,5,6\n");
    ok(cli("import-features", "--csv", csv.toString(), "--out", imported.toString()));
    labels = SparkTestSupport.givenSplitLabels(tmp);
    run = tmp.resolve("run");
    ok(cli("train", "--features", feat.toString(), "--labels", labels.toString(), "--model",
        "mean", "--out", run.toString(), "--epochs", "2", "--workers", "1"));
    unevaluated = tmp.resolve("unevaluated");
    copy(run, unevaluated);
    ok(cli("evaluate", "--run", run.toString(), "--bootstrap", "10"));
    // A run stopped before it finished: no results yet.
    unfinished = tmp.resolve("unfinished");
    copy(unevaluated, unfinished);
    for (String done : List.of("summary.json", "result.json", "predictions.parquet",
        "attention.parquet")) {
      delete(unfinished.resolve(done));
    }
    // A tile output whose only slide failed: its tile index is empty.
    Path unreadable = tmp.resolve("unreadable-slides");
    Files.createDirectories(unreadable);
    Files.write(unreadable.resolve("zero-bytes.svs"), new byte[0]);
    noTiles = tmp.resolve("no-tiles");
    ok(cli("tile", "--slides", unreadable.toString(), "--out", noTiles.toString(),
        "--assume-mpp", "0.5"));
    // Folders of other commands' outputs: they must stay as they are (here, one file).
    kept = tmp.resolve("kept");
    Files.createDirectories(kept);
    Files.writeString(kept.resolve("keep.txt"), "untouched");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static void ok(Result r) {
    assertEquals(0, r.code(), r.out() + r.err());
  }

  private static Path write(String name, String text) throws IOException {
    Path p = tmp.resolve("inputs").resolve(name);
    Files.createDirectories(p.getParent());
    Files.writeString(p, text);
    return p;
  }

  /** A bad command line, the outputs it must not change, and what its error must name. */
  record Case(String name, List<Path> guarded, String[] args, String... names) {}

  private static Case c(String name, List<Path> guarded, String[] args, String... names) {
    return new Case(name, guarded, args, names);
  }

  private static String[] a(Object... parts) {
    return Arrays.stream(parts).map(String::valueOf).toArray(String[]::new);
  }

  private static List<Case> cases() throws IOException {
    Path empty = tmp.resolve("empty-folder");
    Files.createDirectories(empty);
    Path noPath = write("no-path.csv", "slide_id,file\nx,/tmp/x.svs\n");
    Path emptyCsv = write("empty.csv", "");
    Path ragged = write("ragged.csv", "slide_id,x,y,f0,f1\na,0,0,1,2\na,256,0,3\n");
    Path noX = write("no-x.csv", "slide_id,y,f0\na,0,1\n");
    Path noLabelColumn = write("no-label-column.csv", "slide_id,patient_id\nslide_000,p0\n");
    Path unknownIds = write("unknown-ids.csv", Files.readString(labels)
        + "ghost_007,tumor,p7,train\n");
    Path oneClass = write("one-class.csv", "slide_id,label\nslide_000,normal\nslide_001,normal\n"
        + "slide_003,normal\n");
    Path badLine = write("bad-line.csv", "slide_id,label,patient_id\nslide_000,normal,p0,extra\n"
        + "slide_002,tumor,p2\n");
    Path emptyLabels = write("empty-labels.csv", "");
    Path smallHoldOut = write("small-hold-out.csv", "slide_id,label,patient_id\n"
        + "slide_000,normal,p0\nslide_001,normal,p1\nslide_003,normal,p3\nslide_002,tumor,p2\n");
    Path notes = tmp.resolve("notes");
    Files.createDirectories(notes);
    Files.writeString(notes.resolve("todo.txt"), "not an output");
    String s = slides.toString();
    List<Path> tileOut = List.of(tiles);
    List<Path> featOut = List.of(feat);
    List<Path> importOut = List.of(imported);
    List<Path> runs = List.of(run, unevaluated, unfinished);
    List<Path> other = List.of(kept);
    String[] train = {"train", "--features", feat.toString(), "--labels", labels.toString(),
        "--model", "mean", "--out", run.toString(), "--epochs", "2", "--workers", "1"};
    String[] collab = {"collaborate", "--tiles", tiles.toString(), "--labels",
        labels.toString(), "--out", kept.toString(), "--random-init"};
    return List.of(
        // tile
        c("tile: missing slides folder", tileOut, a("tile", "--slides", nope, "--out", tiles,
            "--assume-mpp", "0.5"), "nope"),
        c("tile: folder with no slide", tileOut, a("tile", "--slides", empty, "--out", tiles,
            "--assume-mpp", "0.5"), "empty-folder"),
        c("tile: slide list without a path column", tileOut, a("tile", "--slides", noPath,
            "--out", tiles, "--assume-mpp", "0.5"), "no-path.csv"),
        c("tile: --mpp -1", tileOut, a("tile", "--slides", s, "--out", tiles, "--mpp", "-1"),
            "--mpp"),
        c("tile: --tile 0", tileOut, a("tile", "--slides", s, "--out", tiles, "--tile", "0"),
            "--tile"),
        c("tile: --min-tissue 2", tileOut, a("tile", "--slides", s, "--out", tiles,
            "--min-tissue", "2"), "--min-tissue"),
        c("tile: --tissue with an unknown key", tileOut, a("tile", "--slides", s, "--out", tiles,
            "--tissue", "default,sharpness=3"), "sharpness"),
        c("tile: --jpeg-quality 0", tileOut, a("tile", "--slides", s, "--out", tiles,
            "--store-pixels", "--jpeg-quality", "0"), "--jpeg-quality"),
        c("tile: other parameters into a tile output", tileOut, a("tile", "--slides", s, "--out",
            tiles, "--assume-mpp", "0.5", "--tile", "128"), "tile_params.json"),
        c("tile: --tile abc", tileOut, a("tile", "--slides", s, "--out", tiles, "--tile", "abc"),
            "--tile"),
        // embed
        c("embed: missing tiles", featOut, a("embed", "--tiles", nope, "--out", feat,
            "--encoder", "small-cnn", "--random-init"), "nope"),
        c("embed: a folder that is no tile output", featOut, a("embed", "--tiles", slides,
            "--out", feat, "--encoder", "small-cnn", "--random-init"), s),
        c("embed: an empty tile index", List.of(noTiles), a("embed", "--tiles", noTiles,
            "--out", tmp.resolve("no-features"), "--encoder", "small-cnn", "--random-init"),
            "no-tiles"),
        c("embed: --batch 0", featOut, a("embed", "--tiles", tiles, "--out", feat, "--encoder",
            "small-cnn", "--random-init", "--batch", "0"), "--batch"),
        c("embed: unknown encoder", featOut, a("embed", "--tiles", tiles, "--out", feat,
            "--encoder", "nope-net", "--random-init"), "nope-net"),
        c("embed: missing weights", featOut, a("embed", "--tiles", tiles, "--out", feat,
            "--encoder", "small-cnn", "--weights", nope.resolve("w.safetensors")),
            "w.safetensors"),
        c("embed: another encoder into a feature output", featOut, a("embed", "--tiles", tiles,
            "--out", feat, "--encoder", "small-cnn", "--random-init", "--input-size", "48"),
            "manifest.json"),
        // import-features
        c("import: missing CSV", importOut, a("import-features", "--csv", nope.resolve("f.csv"),
            "--out", imported), "f.csv"),
        c("import: zero-byte CSV", importOut, a("import-features", "--csv", emptyCsv, "--out",
            imported), "empty.csv"),
        c("import: CSV of ragged width", importOut, a("import-features", "--csv", ragged,
            "--out", imported), "ragged.csv", "line 3"),
        c("import: CSV without an x column", importOut, a("import-features", "--csv", noX,
            "--out", imported), "no-x.csv"),
        c("import: --h5 folder without .h5 files", importOut, a("import-features", "--h5",
            notes, "--out", imported), "notes"),
        // train
        c("train: missing features", runs, a("train", "--features", nope, "--labels", labels,
            "--model", "mean", "--out", run), "nope"),
        c("train: features folder is a tile output", runs, a("train", "--features", tiles,
            "--labels", labels, "--model", "mean", "--out", run), "manifest.json"),
        c("train: missing labels", runs, replace(train, "--labels", nope.resolve("l.csv")),
            "l.csv"),
        c("train: labels without a label column", runs, replace(train, "--labels",
            noLabelColumn), "no-label-column.csv"),
        c("train: labels with unknown ids", runs, replace(train, "--labels", unknownIds),
            "ghost_007"),
        c("train: labels of one class", runs, replace(train, "--labels", oneClass),
            "one-class.csv"),
        c("train: labels with a malformed line", runs, replace(train, "--labels", badLine),
            "bad-line.csv", "line 2"),
        c("train: empty labels", runs, replace(train, "--labels", emptyLabels),
            "empty-labels.csv"),
        c("train: hold-out of a small cohort", runs, replace(train, "--labels", smallHoldOut),
            "hold-out", "small-hold-out.csv"),
        c("train: --lr -1", runs, plus(train, "--lr", "-1"), "--lr"),
        c("train: --epochs abc", runs, replace(train, "--epochs", "abc"), "--epochs"),
        c("train: --workers 0", runs, replace(train, "--workers", "0"), "--workers"),
        c("train: unknown model", runs, replace(train, "--model", "nope-mil"), "--model"),
        c("train: other settings into a run", runs, replace(train, "--epochs", "3"),
            "config.json"),
        // collaborate
        c("collaborate: missing tiles", other, replace(collab, "--tiles", nope), "nope"),
        c("collaborate: missing labels", other, replace(collab, "--labels",
            nope.resolve("l.csv")), "l.csv"),
        c("collaborate: labels without a label column", other, replace(collab, "--labels",
            noLabelColumn), "no-label-column.csv"),
        c("collaborate: missing weights", other, a("collaborate", "--tiles", tiles, "--labels",
            labels, "--out", kept, "--weights", nope.resolve("w.safetensors")),
            "w.safetensors"),
        c("collaborate: --patch-batch not a multiple of --shards", other, plus(collab,
            "--patch-batch", "7"), "--patch-batch"),
        c("collaborate: --patch-lr 0", other, plus(collab, "--patch-lr", "0"), "--patch-lr"),
        c("collaborate: --rounds -1", other, plus(collab, "--rounds", "-1"), "--rounds"),
        // evaluate
        c("evaluate: missing run", runs, a("evaluate", "--run", nope), "nope"),
        c("evaluate: unfinished run", runs, a("evaluate", "--run", unfinished), "unfinished"),
        c("evaluate: a feature folder", List.of(feat), a("evaluate", "--run", feat),
            "config.json"),
        c("evaluate: --threshold bogus", runs, a("evaluate", "--run", run, "--threshold",
            "bogus"), "--threshold"),
        c("evaluate: --bootstrap -1", runs, a("evaluate", "--run", run, "--bootstrap", "-1"),
            "--bootstrap"),
        // report
        c("report: missing run", runs, a("report", "--run", nope), "nope"),
        c("report: run not evaluated", runs, a("report", "--run", unevaluated), "metrics.json"),
        c("report: unfinished run", runs, a("report", "--run", unfinished), "unfinished"),
        c("report: --heatmaps -1", runs, a("report", "--run", run, "--heatmaps", "-1"),
            "--heatmaps"),
        // inspect
        c("inspect: missing path", other, a("inspect", nope), "nope"),
        c("inspect: a folder that is no Tessera output", other, a("inspect", notes), "notes"),
        c("inspect: a file", other, a("inspect", labels), "labels.csv"),
        // synth
        c("synth: --slides 0", other, a("synth", "--out", kept, "--slides", "0"), "--slides"),
        c("synth: --tumor-fraction 2", other, a("synth", "--out", kept, "--tumor-fraction", "2"),
            "--tumor-fraction"),
        // demo: options are checked before the demo makes anything
        c("demo: --epochs 0", other, a("demo", "--out", kept, "--epochs", "0"), "--epochs"),
        c("demo: unknown model", other, a("demo", "--out", kept, "--model", "nope-mil"),
            "--model"),
        c("demo: --workers 0", other, a("demo", "--out", kept, "--workers", "0"), "--workers"));
  }

  /** {@code args} with the value after {@code option} replaced. */
  private static String[] replace(String[] args, String option, Object value) {
    String[] out = args.clone();
    for (int i = 0; i + 1 < out.length; i++) {
      if (out[i].equals(option)) {
        out[i + 1] = String.valueOf(value);
        return out;
      }
    }
    throw new IllegalArgumentException(option + " not in " + List.of(args));
  }

  private static String[] plus(String[] args, String... more) {
    String[] out = Arrays.copyOf(args, args.length + more.length);
    System.arraycopy(more, 0, out, args.length, more.length);
    return out;
  }

  @TestFactory
  Stream<DynamicTest> everyBadInputIsOneLineAndChangesNothing() throws IOException {
    return cases().stream().map(k -> DynamicTest.dynamicTest(k.name(), () -> {
      Map<Path, String> before = new LinkedHashMap<>();
      for (Path p : k.guarded()) {
        before.put(p, checksum(p));
      }
      Result r = cli(k.args());
      String err = r.err();
      assertTrue(r.code() != 0, k.name() + ": exit code 0\n" + r.out() + err);
      assertEquals(1, err.strip().lines().count(), k.name() + ": " + err);
      assertFalse(TesseraCliTest.hasStackTrace(err), k.name() + ": " + err);
      for (String n : k.names()) {
        assertTrue(err.contains(n), k.name() + ": does not name " + n + ": " + err);
      }
      for (Path p : k.guarded()) {
        assertEquals(before.get(p), checksum(p), k.name() + ": changed " + p);
      }
    }));
  }

  @Test
  void badSlidesFailAloneAndTheJobGoesOn() throws Exception {
    Path mixed = tmp.resolve("mixed-slides");
    Files.createDirectories(mixed);
    Path good = slides.resolve("slide_001.svs");
    Files.copy(good, mixed.resolve("good.svs"));
    byte[] png = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D',
        'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0};
    Files.write(mixed.resolve("renamed-png.svs"), png);
    Files.write(mixed.resolve("zero-bytes.svs"), new byte[0]);
    byte[] whole = Files.readAllBytes(good);
    Files.write(mixed.resolve("truncated.svs"), Arrays.copyOf(whole, whole.length / 3));
    Path out = tmp.resolve("mixed-tiles");
    Result r = cli("tile", "--slides", mixed.toString(), "--out", out.toString(),
        "--assume-mpp", "0.5");
    assertEquals(0, r.code(), r.out() + r.err());
    assertFalse(TesseraCliTest.hasStackTrace(r.out() + r.err()), r.out() + r.err());
    Map<String, String> status = new LinkedHashMap<>();
    Map<String, String> error = new LinkedHashMap<>();
    for (Row row : spark.read().parquet(out.resolve("slides").toString())
        .select("slide_id", "status", "error").collectAsList()) {
      status.put(row.getString(0), row.getString(1));
      error.put(row.getString(0), row.getString(2));
    }
    assertEquals("ok", status.get("good"), status.toString());
    for (String bad : List.of("renamed-png", "zero-bytes", "truncated")) {
      assertEquals("failed", status.get(bad), bad + ": " + status);
      assertFalse(error.get(bad).isBlank() || error.get(bad).contains("\n"), error.get(bad));
    }
  }

  @Test
  void badFeatureRowsFailTheirSlideAlone() throws Exception {
    Path csv = write("nan-features.csv", "slide_id,x,y,f0,f1\ngood,0,0,1,2\ngood,256,0,3,4\n"
        + "not-a-number,0,0,NaN,1\ninfinite,0,0,1,Infinity\nmalformed,0,0,abc,1\n");
    Path out = tmp.resolve("nan-imported");
    Result r = cli("import-features", "--csv", csv.toString(), "--out", out.toString());
    assertEquals(0, r.code(), r.out() + r.err());
    assertFalse(TesseraCliTest.hasStackTrace(r.out() + r.err()), r.out() + r.err());
    Map<String, String> status = new LinkedHashMap<>();
    for (Row row : spark.read().parquet(out.resolve("slides").toString())
        .select("slide_id", "status").collectAsList()) {
      status.put(row.getString(0), row.getString(1));
    }
    assertEquals(Map.of("good", "ok", "not-a-number", "failed", "infinite", "failed",
        "malformed", "failed"), status);
  }

  /** SHA-256 over the relative paths and bytes of every file under {@code root}. */
  static String checksum(Path root) throws Exception {
    if (!Files.exists(root)) {
      return "absent";
    }
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    List<Path> files = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(root)) {
      walk.sorted().forEach(files::add);
    }
    for (Path f : files) {
      md.update(root.relativize(f).toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
      md.update((byte) 0);
      if (Files.isRegularFile(f)) {
        md.update(Files.readAllBytes(f));
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private static void copy(Path from, Path to) throws IOException {
    try (Stream<Path> walk = Files.walk(from)) {
      for (Path p : walk.sorted().toList()) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
  }

  private static void delete(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(p)) {
      for (Path q : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(q);
      }
    }
  }
}
