package org.tessera.wsi.tissue;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * How {@link TissueDetector} separates tissue from glass on a thumbnail.
 *
 * <p>Kernels are in thumbnail pixels (they smooth what the thumbnail shows); areas are in level-0
 * pixels², scaled by downsample² internally, so a preset means the same physical-ish size whatever
 * thumbnail level it runs on. Areas are not in µm² because many slides (generic TIFFs) record no
 * pixel size; at 0.5 µm/px, 1,000,000 level-0 px² = 0.25 mm².
 *
 * @param threshold     saturation (0-255) above which a blurred pixel is surely tissue, or {@link
 *                      #OTSU} to take Otsu's threshold of the blurred saturation histogram
 * @param lowThreshold  hysteresis: pixels above this are tissue too when 8-connected to a pixel
 *                      above {@code threshold} (Otsu, drawn to the stained mass, cuts pale stroma
 *                      otherwise). Nothing at or below it is ever tissue, so it is also Otsu's
 *                      floor: on an empty slide Otsu would split glass noise in two. Equal to a
 *                      fixed {@code threshold}, it switches hysteresis off
 * @param medianKernel  median-blur window edge, odd, 1 = no blur; removes JPEG and dust speckle
 * @param closeKernel   morphological-closing square edge, 0 or 1 = off; bridges thin pale gaps
 * @param fillHoles     fill background enclosed by tissue (pale lumens, tears)
 * @param minHoleArea   with {@code fillHoles}, holes at least this large (level-0 px²) stay open,
 *                      as real lumens and vessels are not tissue; 0 fills every hole
 * @param minTissueArea tissue components smaller than this (level-0 px²) are dropped as debris
 */
public record TissueParams(
    int threshold,
    int lowThreshold,
    int medianKernel,
    int closeKernel,
    boolean fillHoles,
    double minHoleArea,
    double minTissueArea) implements Serializable {

  /** {@link #threshold} value that asks for Otsu's threshold on the blurred saturation. */
  public static final int OTSU = -1;

  /** Keys accepted by {@link #parse} and {@link #with}. */
  public static final String THRESHOLD = "threshold";
  public static final String LOW_THRESHOLD = "low_threshold";
  public static final String MEDIAN = "median";
  public static final String CLOSE = "close";
  public static final String FILL_HOLES = "fill_holes";
  public static final String MIN_HOLE_AREA = "min_hole_area";
  public static final String MIN_TISSUE_AREA = "min_tissue_area";

  private static final double TILE_AREA = 256.0 * 256.0;

  /**
   * Named presets, areas sized for 0.25-0.5 µm/px scans. {@code default}: Otsu with hysteresis,
   * for resections; {@code biopsy}: smaller blur and closing, keeps fragments down to one 256²
   * tile and opens smaller lumens, for needle biopsies; {@code fixed}: CLAM's default, a fixed
   * saturation threshold of 8 without hysteresis, for slides where Otsu is misled (e.g. heavy pen
   * marks).
   */
  private static final Map<String, TissueParams> PRESETS = Map.of(
      "default", new TissueParams(OTSU, 8, 7, 4, true, TILE_AREA, 4 * TILE_AREA),
      "biopsy", new TissueParams(OTSU, 8, 5, 2, true, TILE_AREA / 4, TILE_AREA),
      "fixed", new TissueParams(8, 8, 7, 4, true, TILE_AREA, 4 * TILE_AREA));

  public TissueParams {
    if (threshold != OTSU && (threshold < 0 || threshold > 254)) {
      throw bad(THRESHOLD, Integer.toString(threshold), "must be 'otsu' or an integer 0..254");
    }
    if (lowThreshold < 0 || lowThreshold > 254) {
      throw bad(LOW_THRESHOLD, Integer.toString(lowThreshold), "must be an integer 0..254");
    }
    if (threshold != OTSU && lowThreshold > threshold) {
      throw bad(LOW_THRESHOLD, Integer.toString(lowThreshold),
          "must be <= threshold (" + threshold + ")");
    }
    if (medianKernel < 1 || medianKernel % 2 == 0 || medianKernel > 255) {
      throw bad(MEDIAN, Integer.toString(medianKernel), "must be an odd integer 1..255");
    }
    if (closeKernel < 0 || closeKernel > 255) {
      throw bad(CLOSE, Integer.toString(closeKernel), "must be an integer 0..255");
    }
    if (!(minHoleArea >= 0) || Double.isInfinite(minHoleArea)) {
      throw bad(MIN_HOLE_AREA, Double.toString(minHoleArea), "must be a finite number >= 0");
    }
    if (!(minTissueArea >= 0) || Double.isInfinite(minTissueArea)) {
      throw bad(MIN_TISSUE_AREA, Double.toString(minTissueArea), "must be a finite number >= 0");
    }
  }

  /** The {@code default} preset. */
  public static TissueParams defaults() {
    return PRESETS.get("default");
  }

  /** Names of the presets, for help texts. */
  public static SortedSet<String> presetNames() {
    return new TreeSet<>(PRESETS.keySet());
  }

  /** A preset by name. */
  public static TissueParams preset(String name) {
    TissueParams p = PRESETS.get(name.trim().toLowerCase(Locale.ROOT));
    if (p == null) {
      throw new IllegalArgumentException(
          "unknown tissue preset '" + name + "': expected one of " + presetNames());
    }
    return p;
  }

  /**
   * Parses {@code preset[,key=value...]}, e.g. {@code biopsy,threshold=20,close=0}; a spec that
   * starts with {@code key=value} overrides the {@code default} preset.
   */
  public static TissueParams parse(String spec) {
    String[] parts = spec.split(",");
    TissueParams base = defaults();
    Map<String, String> overrides = new LinkedHashMap<>();
    for (int i = 0; i < parts.length; i++) {
      String part = parts[i].trim();
      if (part.isEmpty()) {
        continue;
      }
      int eq = part.indexOf('=');
      if (eq < 0) {
        if (i != 0) {
          throw new IllegalArgumentException(
              "tissue param '" + part + "': expected key=value (only the first item may name a preset)");
        }
        base = preset(part);
      } else {
        overrides.put(part.substring(0, eq).trim(), part.substring(eq + 1).trim());
      }
    }
    return base.with(overrides);
  }

  /** This with the given {@code key=value} overrides applied (keys as in {@link #parse}). */
  public TissueParams with(Map<String, String> overrides) {
    int t = threshold;
    int low = lowThreshold;
    int median = medianKernel;
    int close = closeKernel;
    boolean fill = fillHoles;
    double hole = minHoleArea;
    double area = minTissueArea;
    for (Map.Entry<String, String> e : overrides.entrySet()) {
      String key = e.getKey().trim().toLowerCase(Locale.ROOT).replace('-', '_');
      String v = e.getValue().trim();
      switch (key) {
        case THRESHOLD -> t = v.equalsIgnoreCase("otsu") ? OTSU : parseInt(key, v);
        case LOW_THRESHOLD -> low = parseInt(key, v);
        case MEDIAN -> median = parseInt(key, v);
        case CLOSE -> close = parseInt(key, v);
        case FILL_HOLES -> fill = parseBoolean(key, v);
        case MIN_HOLE_AREA -> hole = parseDouble(key, v);
        case MIN_TISSUE_AREA -> area = parseDouble(key, v);
        default -> throw new IllegalArgumentException("unknown tissue param '" + e.getKey()
            + "': expected one of " + String.join(", ", THRESHOLD, LOW_THRESHOLD, MEDIAN, CLOSE,
            FILL_HOLES, MIN_HOLE_AREA, MIN_TISSUE_AREA));
      }
    }
    return new TissueParams(t, low, median, close, fill, hole, area);
  }

  /** This as {@code key=value,...}, parseable by {@link #parse}, for logs and run manifests. */
  public String toSpec() {
    return String.join(",",
        THRESHOLD + "=" + (threshold == OTSU ? "otsu" : Integer.toString(threshold)),
        LOW_THRESHOLD + "=" + lowThreshold,
        MEDIAN + "=" + medianKernel,
        CLOSE + "=" + closeKernel,
        FILL_HOLES + "=" + fillHoles,
        MIN_HOLE_AREA + "=" + number(minHoleArea),
        MIN_TISSUE_AREA + "=" + number(minTissueArea));
  }

  private static String number(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
  }

  private static int parseInt(String key, String v) {
    try {
      return Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw bad(key, v, "must be an integer");
    }
  }

  private static double parseDouble(String key, String v) {
    try {
      return Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw bad(key, v, "must be a number");
    }
  }

  private static boolean parseBoolean(String key, String v) {
    return switch (v.toLowerCase(Locale.ROOT)) {
      case "true", "yes", "on", "1" -> true;
      case "false", "no", "off", "0" -> false;
      default -> throw bad(key, v, "must be true or false");
    };
  }

  private static IllegalArgumentException bad(String key, String value, String rule) {
    return new IllegalArgumentException("tissue param " + key + "=" + value + ": " + rule);
  }
}
