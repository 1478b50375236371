package org.tessera.spark.report;

import java.util.List;

/** A page as a string: escaping, headings, tables and figures, nothing else. */
final class Html {
  static final String STYLE = """
      body{font-family:sans-serif;margin:24px auto;max-width:1240px;color:#222;line-height:1.4}
      h1{margin-bottom:4px} h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:36px}
      .meta{color:#555} .note{background:#fff4d6;border-left:4px solid #e0a800;padding:8px 12px}
      .headline{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
      .headline div{border:1px solid #ccc;border-radius:6px;padding:8px 14px;min-width:120px}
      .headline b{display:block;font-size:22px}
      .figs{display:flex;flex-wrap:wrap;gap:12px} .figs img{max-width:100%;border:1px solid #eee}
      .slide{margin:18px 0;padding-top:8px;border-top:1px dashed #ddd}
      .tiles{display:flex;flex-wrap:wrap;gap:10px} .tiles figure{margin:0;font-size:12px}
      .placeholder{color:#a00;font-style:italic}
      .side{display:flex;gap:8px;align-items:flex-start} .side img{width:32%;height:auto}
      table{border-collapse:collapse;margin:8px 0;font-size:13px}
      td,th{border:1px solid #ccc;padding:3px 8px;text-align:right} th{background:#f3f3f3}
      td.l,th.l{text-align:left} pre{background:#f7f7f7;padding:10px;overflow:auto;font-size:12px}
      """;

  private final StringBuilder sb = new StringBuilder();

  static String esc(String s) {
    StringBuilder out = new StringBuilder(s.length());
    for (char c : s.toCharArray()) {
      switch (c) {
        case '<' -> out.append("&lt;");
        case '>' -> out.append("&gt;");
        case '&' -> out.append("&amp;");
        case '"' -> out.append("&quot;");
        case '\'' -> out.append("&#39;");
        default -> out.append(c);
      }
    }
    return out.toString();
  }

  /** Appends markup as it is: callers escape what came from files. */
  Html raw(String markup) {
    sb.append(markup);
    return this;
  }

  Html tag(String tag, String text) {
    return raw("<" + tag + ">" + esc(text) + "</" + tag.split(" ")[0] + ">\n");
  }

  Html note(String text) {
    return raw("<p class=\"note\">" + esc(text) + "</p>\n");
  }

  Html img(String src, String alt) {
    return raw("<img src=\"" + esc(src) + "\" alt=\"" + esc(alt) + "\">\n");
  }

  /** A table whose first column is a left-aligned label and the rest are right-aligned values. */
  Html table(List<String> header, List<List<String>> rows) {
    return table(header, rows, null);
  }

  /**
   * As {@link #table(List, List)}; {@code ids}, when given, names each row's second cell (its
   * value) so a reader or a test can find it.
   */
  Html table(List<String> header, List<List<String>> rows, List<String> ids) {
    raw("<table><tr>");
    for (int i = 0; i < header.size(); i++) {
      raw("<th" + (i == 0 ? " class=\"l\"" : "") + ">" + esc(header.get(i)) + "</th>");
    }
    raw("</tr>\n");
    for (int r = 0; r < rows.size(); r++) {
      List<String> row = rows.get(r);
      raw("<tr>");
      for (int i = 0; i < row.size(); i++) {
        String id = ids != null && i == 1 ? " id=\"" + esc(ids.get(r)) + "\"" : "";
        raw("<td" + id + (i == 0 ? " class=\"l\"" : "") + ">" + esc(row.get(i)) + "</td>");
      }
      raw("</tr>\n");
    }
    return raw("</table>\n");
  }

  String page(String title) {
    return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>"
        + esc(title) + "</title>\n<style>\n" + STYLE + "</style></head>\n<body>\n" + sb
        + "</body></html>\n";
  }
}
