package org.tessera.spark.notebooks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.tessera.spark.SparkTestSupport;
import scala.Console;
import scala.collection.JavaConverters;
import scala.tools.nsc.Settings;
import scala.tools.nsc.interpreter.IMain;
import scala.tools.nsc.interpreter.Results;

/**
 * Executes Zeppelin notes ({@code .zpln}) the way Zeppelin's Spark interpreter does, without a
 * Zeppelin server (its interpreter is not on Maven Central): a class-based Scala REPL whose
 * compiled classes Spark serves to executors, with {@code spark} and {@code sc} bound as in
 * Zeppelin. {@code %spark} paragraphs are fed line by line, a line followed by one starting with
 * {@code .} joined to it and incomplete input carried to the next line, so a paragraph that
 * only compiles as a whole fails here as it would there. {@code %sql} paragraphs run through
 * {@code spark.sql} and print a {@code %table}; {@code %md} paragraphs are text and skipped.
 */
public final class NoteRunner implements AutoCloseable {
  /** Where the REPL writes its classes; Spark serves this folder to executors. */
  public static final String CLASS_DIR_CONF = "spark.repl.class.outputDir";
  public static final Set<String> INTERPRETERS = Set.of("%spark", "%sql", "%md");
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * One paragraph of a note: its interpreter ({@code %spark}, ...), alone on the first line, and
   * the code on the lines after it.
   */
  public record Paragraph(String interpreter, String code) {}

  /** What a paragraph printed, as Zeppelin would display it ({@code %table}, {@code %html}). */
  public record Output(Path note, int index, String interpreter, String text) {}

  private final SparkSession spark;
  private final IMain repl;
  private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
  private final PrintStream console = new PrintStream(buffer, true, StandardCharsets.UTF_8);

  /**
   * Starts the interpreter on this JVM's classpath and binds {@code spark} and {@code sc}.
   * The session must have been created with {@link #CLASS_DIR_CONF}: Spark reads it only when
   * its context starts.
   */
  public NoteRunner(SparkSession spark) {
    this.spark = spark;
    String classDir = spark.conf().getOption(CLASS_DIR_CONF).getOrElse(() -> {
      throw new IllegalStateException("the session has no " + CLASS_DIR_CONF
          + ": make it with NoteRunner.localSession");
    });
    Settings settings = new Settings();
    settings.processArguments(JavaConverters.asScalaBuffer(List.of("-Yrepl-class-based",
        "-Yrepl-outdir", classDir, "-classpath", classpath())).toList(), true);
    repl = new IMain(settings, new PrintWriter(new OutputStreamWriter(console,
        StandardCharsets.UTF_8), true));
    repl.initializeSynchronous();
    scala.collection.immutable.List<String> transientVal = JavaConverters.asScalaBuffer(
        List.of("@transient")).toList();
    check(repl.bind("spark", SparkSession.class.getName(), spark, transientVal), "bind spark");
    check(repl.bind("sc", org.apache.spark.SparkContext.class.getName(), spark.sparkContext(),
        transientVal), "bind sc");
    // The imports Zeppelin's Spark interpreter makes before the first paragraph.
    for (String line : List.of("import org.apache.spark.SparkContext._",
        "import spark.implicits._", "import spark.sql",
        "import org.apache.spark.sql.functions._")) {
      check(repl.interpret(line), line);
    }
  }

  /** A local[2] session as the unit tests use, with a folder for the REPL's classes. */
  public static SparkSession localSession(String name, Path classDir) {
    return SparkTestSupport.localBuilder(name)
        .config(CLASS_DIR_CONF, classDir.toAbsolutePath().toString())
        .getOrCreate();
  }

  /** The note's paragraphs in order. */
  public static List<Paragraph> paragraphs(Path note) throws IOException {
    JsonNode root = JSON.readTree(note.toFile());
    List<Paragraph> out = new ArrayList<>();
    for (JsonNode p : root.path("paragraphs")) {
      String text = p.path("text").asText("");
      int newline = text.indexOf('\n');
      String first = (newline < 0 ? text : text.substring(0, newline)).strip();
      if (!first.startsWith("%")) {
        throw new IllegalArgumentException(note + ": paragraph " + out.size()
            + " does not name its interpreter on its first line (%spark, %sql or %md)");
      }
      out.add(new Paragraph(first, newline < 0 ? "" : text.substring(newline + 1)));
    }
    return out;
  }

  /**
   * Runs every paragraph of the note in order; the first that fails stops the note with its
   * index (from 0), the failing line as Zeppelin's editor numbers it (the interpreter's line is
   * 1) and what the paragraph printed.
   */
  public List<Output> run(Path note) throws IOException {
    List<Output> outputs = new ArrayList<>();
    List<Paragraph> paragraphs = paragraphs(note);
    for (int i = 0; i < paragraphs.size(); i++) {
      Paragraph p = paragraphs.get(i);
      buffer.reset();
      switch (p.interpreter()) {
        case "%md" -> {
          continue;
        }
        case "%spark" -> scala(note, i, p.code());
        case "%sql" -> sql(note, i, p.code());
        default -> throw new IllegalArgumentException(note + ": paragraph " + i
            + " uses " + p.interpreter() + ", not one of " + INTERPRETERS);
      }
      console.flush();
      outputs.add(new Output(note, i, p.interpreter(), buffer.toString(StandardCharsets.UTF_8)));
    }
    return outputs;
  }

  private void scala(Path note, int index, String code) {
    String[] lines = code.split("\\r?\\n");
    StringBuilder pending = new StringBuilder();
    for (int i = 0; i < lines.length; i++) {
      if (lines[i].isBlank() && pending.isEmpty()) {
        continue;
      }
      pending.append(lines[i]).append('\n');
      if (i + 1 < lines.length && continues(lines[i + 1])) {
        continue;
      }
      String chunk = pending.toString();
      Results.Result r = Console.withOut(console, () -> Console.withErr(console,
          () -> repl.interpret(chunk)));
      if (r instanceof Results.Error$) {
        throw failure(note, index, "line " + (i + 2) + " failed", chunk);
      }
      if (r instanceof Results.Success$) {
        pending.setLength(0);
      }
    }
    if (!pending.isEmpty()) {
      throw failure(note, index, "ends inside an incomplete statement", pending.toString());
    }
  }

  /** Zeppelin joins a line to the previous one when it starts a method call with a dot. */
  private static boolean continues(String next) {
    String t = next.strip();
    return t.startsWith(".") && !t.startsWith("..") && !t.startsWith("./");
  }

  private void sql(Path note, int index, String query) {
    try {
      Dataset<Row> df = spark.sql(query.strip());
      StringBuilder t = new StringBuilder("%table ").append(String.join("\t", df.columns()));
      for (Row r : df.limit(1000).collectAsList()) {
        t.append('\n');
        for (int c = 0; c < r.size(); c++) {
          t.append(c == 0 ? "" : "\t").append(String.valueOf(r.get(c)));
        }
      }
      console.println(t);
    } catch (Exception e) {
      // AnalysisException, a bad query's usual failure, is a checked exception in Java's eyes.
      throw failure(note, index, "query failed: " + e.getMessage(), query);
    }
  }

  private AssertionError failure(Path note, int index, String what, String code) {
    console.flush();
    return new AssertionError(note.getFileName() + " paragraph " + index + ": " + what + "\n"
        + code.strip() + "\n--- output ---\n" + buffer.toString(StandardCharsets.UTF_8));
  }

  private void check(Results.Result r, String what) {
    if (!(r instanceof Results.Success$)) {
      throw new IllegalStateException("interpreter setup failed at " + what + ": "
          + buffer.toString(StandardCharsets.UTF_8));
    }
  }

  /**
   * This JVM's classpath for the compiler. Surefire starts tests from a jar whose manifest
   * holds the real classpath, which the compiler does not read, so manifests are expanded.
   */
  static String classpath() {
    Set<String> entries = new LinkedHashSet<>();
    for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
      Path p = Path.of(e).toAbsolutePath();
      entries.add(p.toString());
      if (!e.endsWith(".jar") || !Files.isRegularFile(p)) {
        continue;
      }
      try (JarFile jar = new JarFile(p.toFile())) {
        Manifest m = jar.getManifest();
        String cp = m == null ? null : m.getMainAttributes().getValue("Class-Path");
        if (cp == null) {
          continue;
        }
        for (String ref : cp.trim().split("\\s+")) {
          entries.add(Path.of(p.getParent().toUri().resolve(ref)).toString());
        }
      } catch (IOException ex) {
        throw new IllegalStateException("cannot read the manifest of " + p + ": " + ex.getMessage(),
            ex);
      }
    }
    return String.join(File.pathSeparator, entries);
  }

  @Override
  public void close() {
    repl.close();
  }
}
