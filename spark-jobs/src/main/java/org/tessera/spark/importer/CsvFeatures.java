package org.tessera.spark.importer;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;
import org.apache.commons.csv.DuplicateHeaderMode;
import org.tessera.core.Errors;
import org.tessera.core.data.SlideIds;

/**
 * Features in one CSV: a header naming {@code slide_id}, {@code x}, {@code y} (level-0 pixels),
 * {@code f0} .. {@code f<D-1>} and optionally {@code level}; one row per instance, rows of a slide
 * in any order and slides interleaved. Other columns are ignored. Problems of the whole file (the
 * header, a row of the wrong width, an unusable slide id) stop the import; a row that does not
 * parse fails only its slide.
 */
final class CsvFeatures {
  private static final String LAYOUT = "slide_id,x,y,f0,...,f<D-1>[,level]";

  /** The slides of a file, each parsed or with the reason it could not be, and the dimension. */
  record Parsed(int dim, Map<String, ImportedBag> bags, Map<String, String> failures) {}

  private CsvFeatures() {}

  static Parsed read(Path file) throws IOException {
    CSVFormat format = CSVFormat.DEFAULT.builder()
        .setHeader()
        .setSkipHeaderRecord(true)
        .setTrim(true)
        .setDuplicateHeaderMode(DuplicateHeaderMode.DISALLOW)
        .build();
    try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8);
         CSVParser parser = format.parse(in)) {
      Map<String, Integer> header = parser.getHeaderMap();
      if (header == null || header.isEmpty()) {
        throw new IllegalArgumentException(file + " is empty: the first line must name the"
            + " columns, " + LAYOUT);
      }
      for (String required : List.of("slide_id", "x", "y", "f0")) {
        if (!header.containsKey(required)) {
          throw new IllegalArgumentException(file + " line 1: no " + required + " column (found: "
              + String.join(",", parser.getHeaderNames()) + "): the header must be " + LAYOUT);
        }
      }
      int dim = 0;
      while (header.containsKey("f" + dim)) {
        dim++;
      }
      for (String name : header.keySet()) {
        if (name.matches("f\\d+") && Integer.parseInt(name.substring(1)) >= dim) {
          throw new IllegalArgumentException(file + " line 1: column " + name + " but no f" + dim
              + ": number the feature columns f0 to f<D-1> without gaps");
        }
      }
      boolean hasLevel = header.containsKey("level");
      Map<String, Slide> slides = new TreeMap<>();
      Map<String, String> failures = new TreeMap<>();
      for (CSVRecord r : parser) {
        long line = r.getRecordNumber() + 1;
        if (r.size() != header.size()) {
          throw new IllegalArgumentException(file + " line " + line + ": " + r.size()
              + " fields but the header has " + header.size() + ": every row needs the same"
              + " columns (" + dim + " features)");
        }
        String id = r.get("slide_id");
        if (!SlideIds.isValid(id)) {
          throw new IllegalArgumentException(file + " line " + line + ": slide_id '" + id
              + "' is not a slide id (letters, digits, '.', '_', '-', no leading '.', at most"
              + " 120): use the slide's file name made safe");
        }
        if (failures.containsKey(id)) {
          continue;
        }
        Slide s = slides.computeIfAbsent(id, k -> new Slide());
        try {
          float[] f = new float[dim];
          for (int j = 0; j < dim; j++) {
            f[j] = Float.parseFloat(r.get(header.get("f" + j)));
          }
          long x = Long.parseLong(r.get("x"));
          long y = Long.parseLong(r.get("y"));
          int level = hasLevel ? Integer.parseInt(r.get("level")) : 0;
          if (s.rows.isEmpty()) {
            s.level = level;
          } else if (s.level != level) {
            throw new NumberFormatException("level " + level + " where earlier rows of the slide"
                + " have " + s.level);
          }
          s.x.add(x);
          s.y.add(y);
          s.rows.add(f);
        } catch (NumberFormatException e) {
          failures.put(id, file + " line " + line + ": " + Errors.oneLine(e) + ": write x, y and"
              + " level as integers and features as numbers");
          slides.remove(id);
        }
      }
      Map<String, ImportedBag> bags = new TreeMap<>();
      for (var e : slides.entrySet()) {
        bags.put(e.getKey(), e.getValue().bag(e.getKey(), file + " (slide " + e.getKey() + ")",
            dim));
      }
      return new Parsed(dim, bags, failures);
    } catch (UncheckedIOException | IllegalStateException e) {
      throw new IllegalArgumentException(file + ": not a readable CSV (" + Errors.oneLine(e)
          + "): fix the quoting", e);
    } catch (IllegalArgumentException e) {
      if (e.getMessage() != null && e.getMessage().startsWith(file.toString())) {
        throw e;
      }
      // A repeated or empty column name comes from commons-csv without the file name.
      throw new IllegalArgumentException(file + " line 1: bad header (" + Errors.oneLine(e)
          + "): name each column once, " + LAYOUT, e);
    }
  }

  /** Rows of one slide as they arrive. */
  private static final class Slide {
    final List<Long> x = new ArrayList<>();
    final List<Long> y = new ArrayList<>();
    final List<float[]> rows = new ArrayList<>();
    int level;

    ImportedBag bag(String id, String source, int dim) {
      int n = rows.size();
      float[] features = new float[n * dim];
      for (int i = 0; i < n; i++) {
        System.arraycopy(rows.get(i), 0, features, i * dim, dim);
      }
      return new ImportedBag(id, source, x.stream().mapToLong(Long::longValue).toArray(),
          y.stream().mapToLong(Long::longValue).toArray(), level, features, dim);
    }
  }
}
