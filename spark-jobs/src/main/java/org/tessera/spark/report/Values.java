package org.tessera.spark.report;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Locale;

/**
 * Numbers as {@code metrics.json} and {@code history.jsonl} hold them, and as the page prints
 * them. An undefined number (an AUC over one class, a CI from too few slides) may arrive as
 * JSON null, NaN or be absent; all three read as NaN and print as "n/a".
 */
final class Values {
  private Values() {}

  static double number(JsonNode n) {
    if (n == null || n.isMissingNode() || n.isNull()) {
      return Double.NaN;
    }
    if (n.isNumber()) {
      return n.doubleValue();
    }
    if (n.isTextual()) {
      try {
        return Double.parseDouble(n.asText());
      } catch (NumberFormatException e) {
        return Double.NaN;
      }
    }
    return Double.NaN;
  }

  /** A metric's point value: {@code {"value": v, "ci_low": .., "ci_high": ..}} or a bare number. */
  static double value(JsonNode metric) {
    return metric != null && metric.isObject() ? number(metric.get("value")) : number(metric);
  }

  static double[] array(JsonNode n) {
    double[] a = new double[n.size()];
    for (int i = 0; i < a.length; i++) {
      a[i] = number(n.get(i));
    }
    return a;
  }

  /** Three decimals, the precision every number on the page shares. */
  static String fmt(double v) {
    return Double.isFinite(v) ? String.format(Locale.ROOT, "%.3f", v) : "n/a";
  }

  /** "0.801–0.990", or "n/a" when the interval is undefined. */
  static String ci(JsonNode metric) {
    double lo = number(metric.path("ci_low"));
    double hi = number(metric.path("ci_high"));
    return Double.isFinite(lo) && Double.isFinite(hi) ? fmt(lo) + "–" + fmt(hi) : "n/a";
  }

  /** "0.912 (95% CI 0.801–0.990)", or the bare value when the interval is undefined. */
  static String withCi(JsonNode metric) {
    String v = fmt(value(metric));
    double lo = number(metric.path("ci_low"));
    double hi = number(metric.path("ci_high"));
    return Double.isFinite(lo) && Double.isFinite(hi)
        ? v + " (95% CI " + fmt(lo) + "–" + fmt(hi) + ")" : v;
  }
}
