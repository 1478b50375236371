package org.tessera.core.data;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Slide identifiers derived from file names. An id becomes a file name in every output folder and a
 * join key against users' label tables, so it must be stable (the file's stem, when that is already
 * safe), contain no path or shell-special characters, and be unique within a cohort.
 */
public final class SlideIds {
  private static final int MAX_LENGTH = 120;

  private SlideIds() {}

  /**
   * A safe id for one file name: the stem without its slide extension, with every character outside
   * {@code [A-Za-z0-9._-]} replaced by {@code _}, no leading dots, at most 120 characters.
   */
  public static String fromFileName(String fileName) {
    String name = fileName;
    int slash = Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\'));
    if (slash >= 0) {
      name = name.substring(slash + 1);
    }
    int dot = name.lastIndexOf('.');
    if (dot > 0) {
      name = name.substring(0, dot);
    }
    StringBuilder sb = new StringBuilder(name.length());
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      boolean safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '.' || c == '_' || c == '-';
      sb.append(safe ? c : '_');
    }
    int start = 0;
    while (start < sb.length() && sb.charAt(start) == '.') {
      start++;
    }
    String id = sb.substring(start);
    if (id.length() > MAX_LENGTH) {
      id = id.substring(0, MAX_LENGTH);
    }
    return id.isEmpty() ? "slide" : id;
  }

  /** True when {@code id} could have been produced by {@link #fromFileName}. */
  public static boolean isValid(String id) {
    return !id.isEmpty() && id.length() <= MAX_LENGTH && id.charAt(0) != '.'
        && id.chars().allMatch(c -> (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-');
  }

  /**
   * Unique ids for a list of paths, in input order. Paths are processed in sorted order so the
   * result does not depend on listing order; a clash gets {@code -2}, {@code -3}, ... appended.
   */
  public static Map<String, String> assign(List<String> paths) {
    return assign(paths, Map.of(), Set.of());
  }

  /**
   * Unique ids for a list of paths that stay the same across runs: a path keeps the id {@code
   * recorded} for it (by an earlier run of the same output) unless that id is {@code reserved}
   * for another slide, and new paths get ids taken by no recorded or reserved slide, so adding a
   * file never moves an id from one file to another.
   *
   * @param recorded ids of earlier runs by path (paths no longer listed keep their ids taken)
   * @param reserved ids given explicitly to other slides of this run
   */
  public static Map<String, String> assign(List<String> paths, Map<String, String> recorded,
      Set<String> reserved) {
    List<String> sorted = new ArrayList<>(paths);
    sorted.sort(null);
    Map<String, String> byPath = new HashMap<>();
    Set<String> used = new HashSet<>(reserved);
    Set<String> seen = new HashSet<>();
    for (String p : sorted) {
      if (!seen.add(p)) {
        throw new IllegalArgumentException("slide listed twice: " + p);
      }
      String id = recorded.get(p);
      if (id != null && isValid(id) && used.add(id)) {
        byPath.put(p, id);
      }
    }
    used.addAll(recorded.values());
    for (String p : sorted) {
      if (byPath.containsKey(p)) {
        continue;
      }
      String base = fromFileName(p);
      String id = base;
      for (int n = 2; !used.add(id); n++) {
        id = base + "-" + n;
      }
      byPath.put(p, id);
    }
    Map<String, String> ordered = new LinkedHashMap<>();
    for (String p : paths) {
      ordered.put(p, byPath.get(p));
    }
    return ordered;
  }
}
