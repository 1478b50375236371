package org.tessera.spark.notebooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The notes in {@code notebooks/} without running them: each is a Zeppelin note (JSON with
 * paragraphs, name, id, config, info), every paragraph names one of the interpreters the notes
 * may use, the first paragraph holds all inputs, and no note uses a name that only another
 * note's first paragraph defines. Zeppelin's default interpreter is shared by all notes, so
 * such a note would work after the other ran and fail when opened alone.
 */
class NotesFormatTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Map<String, String> LANGUAGES = Map.of("%spark", "scala", "%sql", "sql",
      "%md", "markdown");
  private static final Pattern LITERAL = Pattern.compile(
      "s?\"\"\"(?s:.*?)\"\"\"|s?\"(\\\\.|[^\"\\\\\n])*\"");
  private static final Pattern INTERPOLATION = Pattern.compile("\\$\\{([^}]*)}|\\$(\\w+)");
  private static final Pattern DEFINITION = Pattern.compile("(?m)^(?:val|def) (\\w+)");

  /** The {@code .zpln} files of {@code notebooks/}, sorted; tests run in the spark-jobs module. */
  static List<Path> notes() throws IOException {
    Path dir = Path.of("").toAbsolutePath().getParent().resolve("notebooks");
    if (!Files.isDirectory(dir)) {
      throw new IOException(dir + " is missing: run the tests from the spark-jobs module");
    }
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(p -> p.toString().endsWith(".zpln")).sorted().toList();
    }
  }

  @Test
  void everyNoteIsAZeppelinNoteWithItsInputsFirst() throws Exception {
    List<Path> notes = notes();
    assertFalse(notes.isEmpty(), "no .zpln in notebooks/");
    Set<String> ids = new HashSet<>();
    for (Path note : notes) {
      String name = note.getFileName().toString();
      JsonNode root = JSON.readTree(note.toFile());
      assertTrue(root.path("name").isTextual() && root.path("id").isTextual()
          && root.path("config").isObject() && root.path("info").isObject(),
          name + ": a note has name, id, config and info");
      assertTrue(ids.add(root.path("id").asText()), name + ": note id reused");
      JsonNode paragraphs = root.path("paragraphs");
      assertTrue(paragraphs.isArray() && paragraphs.size() > 1, name + ": paragraphs");
      Set<String> paragraphIds = new HashSet<>();
      for (int i = 0; i < paragraphs.size(); i++) {
        JsonNode p = paragraphs.get(i);
        String text = p.path("text").asText();
        String interpreter = text.split("\n", 2)[0];
        assertTrue(LANGUAGES.containsKey(interpreter), name + " paragraph " + i
            + " starts with " + interpreter + ", not one of " + LANGUAGES.keySet());
        assertEquals(LANGUAGES.get(interpreter), p.path("config").path("editorSetting")
            .path("language").asText(), name + " paragraph " + i + ": editor language");
        assertTrue(paragraphIds.add(p.path("id").asText()), name + ": paragraph id reused");
        assertEquals(i == 0, text.contains("sys.props"), name + " paragraph " + i
            + ": inputs are read in the first paragraph and nowhere else");
      }
      List<NoteRunner.Paragraph> parsed = NoteRunner.paragraphs(note);
      assertEquals("%spark", parsed.get(0).interpreter(), name + ": the inputs paragraph");
      assertTrue(parsed.get(0).code().contains("sys.props.getOrElse(\"tessera."),
          name + ": inputs are tessera.* properties with defaults");
    }
  }

  @Test
  void noNoteUsesWhatOnlyAnotherNoteDefines() throws Exception {
    Map<Path, Set<String>> defined = new LinkedHashMap<>();
    for (Path note : notes()) {
      Set<String> names = new HashSet<>();
      for (NoteRunner.Paragraph p : NoteRunner.paragraphs(note)) {
        if (p.interpreter().equals("%spark")) {
          Matcher m = DEFINITION.matcher(code(p));
          while (m.find()) {
            names.add(m.group(1));
          }
        }
      }
      defined.put(note, names);
    }
    for (Path note : defined.keySet()) {
      String code = String.join("\n", NoteRunner.paragraphs(note).stream()
          .filter(p -> !p.interpreter().equals("%md")).map(NotesFormatTest::code).toList());
      for (Map.Entry<Path, Set<String>> other : defined.entrySet()) {
        for (String n : other.getValue()) {
          assertFalse(!defined.get(note).contains(n)
              && Pattern.compile("\\b" + n + "\\b").matcher(code).find(),
              note.getFileName() + " uses " + n + ", defined only in "
                  + other.getKey().getFileName());
        }
      }
    }
  }

  /**
   * A paragraph's code without comments and string literals, where names are only words; of an
   * interpolated string ({@code s"$name ${expr}"}) the names and expressions stay.
   */
  private static String code(NoteRunner.Paragraph p) {
    return LITERAL.matcher(p.code().replaceAll("(?m)//.*$", "")).replaceAll(m -> {
      StringBuilder kept = new StringBuilder(" ");
      Matcher i = INTERPOLATION.matcher(m.group().startsWith("s") ? m.group() : "");
      while (i.find()) {
        kept.append(i.group(1) != null ? i.group(1) : i.group(2)).append(' ');
      }
      return Matcher.quoteReplacement(kept.toString());
    });
  }
}
