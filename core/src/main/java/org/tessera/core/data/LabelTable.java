package org.tessera.core.data;

import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;
import org.apache.commons.csv.DuplicateHeaderMode;
import org.tessera.core.Errors;

/**
 * Slide-level labels from a CSV with a header naming {@code slide_id} and {@code label}, and
 * optionally {@code patient_id} and {@code split}; other columns are ignored, so a clinical table
 * can be used as it is. The class list is fixed here, once, because a class's index is what the
 * model's outputs mean: the sorted distinct labels (numerically when every label is an integer, so
 * "10" comes after "9"), or a list the user gives.
 */
public final class LabelTable {
  public static final String SLIDE_ID = "slide_id";
  public static final String LABEL = "label";
  public static final String PATIENT_ID = "patient_id";
  public static final String SPLIT = "split";
  public static final Set<String> SPLIT_NAMES = Set.of("train", "val", "test");

  private static final String LAYOUT = "slide_id,label[,patient_id][,split]";

  /**
   * One row. {@code patientId} is the slide id when the table has no patient column or the cell is
   * empty; {@code split} is null when the table gives none for the row; {@code line} is the row's
   * line in the file, for messages.
   */
  public record Entry(String slideId, String label, String patientId, String split, int line) {}

  private final String source;
  private final boolean hasSplitColumn;
  private final List<Entry> entries;
  private final Map<String, Entry> bySlide;
  private final List<String> classes;
  private final Map<String, Integer> classIndex;

  private LabelTable(String source, boolean hasSplitColumn, List<Entry> entries,
      List<String> classes) {
    this.source = source;
    this.hasSplitColumn = hasSplitColumn;
    this.entries = List.copyOf(entries);
    Map<String, Entry> ids = new LinkedHashMap<>();
    entries.forEach(e -> ids.put(e.slideId(), e));
    this.bySlide = Collections.unmodifiableMap(ids);
    this.classes = List.copyOf(classes);
    Map<String, Integer> index = new HashMap<>();
    for (int i = 0; i < classes.size(); i++) {
      index.put(classes.get(i), i);
    }
    this.classIndex = Map.copyOf(index);
  }

  /** Reads a label CSV; the classes are the sorted distinct labels. */
  public static LabelTable read(Path file) throws IOException {
    return read(file, List.of());
  }

  /** Reads a label CSV with an explicit class list (empty: the sorted distinct labels). */
  public static LabelTable read(Path file, List<String> classes) throws IOException {
    return parse(file.toString(), Files.readString(file, StandardCharsets.UTF_8), classes);
  }

  /**
   * Parses the text of a label CSV. {@code source} names the file in messages; {@code classes}
   * fixes the class order when not empty.
   */
  public static LabelTable parse(String source, String text, List<String> classes) {
    if (text.startsWith("\uFEFF")) {
      text = text.substring(1);
    }
    if (text.isBlank()) {
      throw new IllegalArgumentException(source + " is empty: it needs a header line " + LAYOUT
          + " and one row per slide");
    }
    CSVFormat format = CSVFormat.DEFAULT.builder()
        .setHeader()
        .setSkipHeaderRecord(true)
        .setTrim(true)
        .setIgnoreHeaderCase(true)
        .setIgnoreEmptyLines(true)
        .setDuplicateHeaderMode(DuplicateHeaderMode.DISALLOW)
        .build();
    LineIndex lines = new LineIndex(text);
    try (CSVParser parser = CSVParser.parse(new StringReader(text), format)) {
      Map<String, Integer> header = parser.getHeaderMap();
      for (String required : List.of(SLIDE_ID, LABEL)) {
        if (!header.containsKey(required)) {
          throw new IllegalArgumentException(source + " line 1: the header has no " + required
              + " column (found: " + String.join(",", parser.getHeaderNames()) + "): the first line"
              + " must name the columns, " + LAYOUT);
        }
      }
      boolean hasPatient = header.containsKey(PATIENT_ID);
      boolean hasSplit = header.containsKey(SPLIT);
      List<Entry> entries = new ArrayList<>();
      Map<String, Entry> seen = new HashMap<>();
      Map<String, Entry> splitOfPatient = new HashMap<>();
      for (CSVRecord r : parser) {
        int line = lines.lineAt(r.getCharacterPosition());
        String where = source + " line " + line + ": ";
        if (!r.isConsistent()) {
          throw new IllegalArgumentException(where + "has " + r.size() + " fields but the header"
              + " has " + header.size() + ": give every row one value per header column");
        }
        String id = r.get(SLIDE_ID);
        if (id.isEmpty()) {
          throw new IllegalArgumentException(where + "slide_id is empty: give every row the id of"
              + " its slide");
        }
        if (!SlideIds.isValid(id)) {
          throw new IllegalArgumentException(where + "slide_id '" + id + "' is not a slide id"
              + " (letters, digits, '.', '_', '-', no leading '.', at most 120): use the id the"
              + " tile stage gave the slide (its file name made safe)");
        }
        Entry earlier = seen.get(id);
        if (earlier != null) {
          throw new IllegalArgumentException(where + "slide_id '" + id + "' is already on line "
              + earlier.line() + ": list every slide once");
        }
        String label = r.get(LABEL);
        if (label.isEmpty()) {
          throw new IllegalArgumentException(where + "label of " + id + " is empty: give every"
              + " slide a label, or leave unlabelled slides out of the table");
        }
        String patient = hasPatient ? r.get(PATIENT_ID) : "";
        if (patient.isEmpty()) {
          patient = id;
        }
        String split = hasSplit ? r.get(SPLIT).toLowerCase(Locale.ROOT) : "";
        if (!split.isEmpty() && !SPLIT_NAMES.contains(split)) {
          throw new IllegalArgumentException(where + "split '" + r.get(SPLIT) + "' of " + id
              + " is not train, val or test: use one of those, or leave it empty everywhere");
        }
        Entry e = new Entry(id, label, patient, split.isEmpty() ? null : split, line);
        if (e.split() != null) {
          Entry other = splitOfPatient.putIfAbsent(patient, e);
          if (other != null && !other.split().equals(e.split())) {
            throw new IllegalArgumentException(where + "patient " + patient + " is in split "
                + e.split() + " here but in " + other.split() + " on line " + other.line()
                + ": put all slides of a patient in one split, or slides of one patient leak"
                + " between training and evaluation");
          }
        }
        seen.put(id, e);
        entries.add(e);
      }
      if (entries.isEmpty()) {
        throw new IllegalArgumentException(source + " has a header but no rows: add one row per"
            + " slide, " + LAYOUT);
      }
      return new LabelTable(source, hasSplit, entries, classList(source, entries, classes));
    } catch (IOException | UncheckedIOException | IllegalStateException e) {
      // The text is already in memory: these are commons-csv's reports of malformed quoting.
      throw new IllegalArgumentException(source + ": not a readable CSV (" + Errors.oneLine(e)
          + "): fix the quoting", e);
    } catch (IllegalArgumentException e) {
      if (e.getMessage() != null && e.getMessage().startsWith(source)) {
        throw e;
      }
      // Duplicate or empty header names come from commons-csv without the file name.
      throw new IllegalArgumentException(source + " line 1: bad header (" + e.getMessage()
          + "): name each column once, " + LAYOUT, e);
    }
  }

  private static List<String> classList(String source, List<Entry> entries, List<String> given) {
    if (given.isEmpty()) {
      TreeSet<String> distinct = new TreeSet<>();
      entries.forEach(e -> distinct.add(e.label()));
      List<String> sorted = new ArrayList<>(distinct);
      if (sorted.stream().allMatch(l -> l.matches("[+-]?\\d+"))) {
        sorted.sort(Comparator.comparing(BigInteger::new));
      }
      return sorted;
    }
    if (new TreeSet<>(given).size() != given.size() || given.stream().anyMatch(String::isBlank)) {
      throw new IllegalArgumentException(source + ": the class list " + given + " has an empty or repeated name: give each class once");
    }
    for (Entry e : entries) {
      if (!given.contains(e.label())) {
        throw new IllegalArgumentException(source + " line " + e.line() + ": label '" + e.label()
            + "' is not one of the classes given " + given + ": add it to the class list or fix"
            + " the label");
      }
    }
    return given;
  }

  /** The file the table came from, for messages. */
  public String source() {
    return source;
  }

  /** The rows in file order. */
  public List<Entry> entries() {
    return entries;
  }

  /** The row of a slide. */
  public Entry entry(String slideId) {
    Entry e = bySlide.get(slideId);
    if (e == null) {
      throw new IllegalArgumentException("slide " + slideId + " is not in " + source
          + ": add a row for it or leave the slide out");
    }
    return e;
  }

  public boolean contains(String slideId) {
    return bySlide.containsKey(slideId);
  }

  /** The class names; a class's position is its index. */
  public List<String> classes() {
    return classes;
  }

  public int classIndex(String label) {
    Integer i = classIndex.get(label);
    if (i == null) {
      throw new IllegalArgumentException("label '" + label + "' is not one of the classes "
          + classes + " of " + source);
    }
    return i;
  }

  /** True when the CSV has a split column (cells may still be empty). */
  public boolean hasSplitColumn() {
    return hasSplitColumn;
  }

  /** Maps character positions to 1-based line numbers, counting blank lines the parser skips. */
  private static final class LineIndex {
    private final String text;
    private final int[] starts;

    LineIndex(String text) {
      this.text = text;
      List<Integer> s = new ArrayList<>();
      s.add(0);
      for (int i = 0; i < text.length(); i++) {
        char c = text.charAt(i);
        if (c == '\n' || (c == '\r' && (i + 1 == text.length() || text.charAt(i + 1) != '\n'))) {
          s.add(i + 1);
        }
      }
      starts = s.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The line of the first non-blank character from {@code position}, where a record starts. */
    int lineAt(long position) {
      int p = (int) position;
      while (p < text.length() && Character.isWhitespace(text.charAt(p))) {
        p++;
      }
      int i = Arrays.binarySearch(starts, p);
      return i >= 0 ? i + 1 : -i - 1;
    }
  }
}
