package org.tessera.spark.cli;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Speaks of options as the command line spells them. The settings records of the stages and of
 * core validate themselves and name what is wrong by their own field names ({@code
 * learningRate=-1.0 must be ...}); on the command line the same value is {@code --lr}. The names
 * come from picocli's model of the command: each option's flag stands for its camel-case form
 * ({@code --weight-decay}: weightDecay) and for the Java field it fills ({@code lr}), plus the
 * few record fields named otherwise ({@link #ALIASES}). A name is replaced where a message uses
 * it as a key ({@code name=value}) or, when it is camel case, as a word of its own: ordinary
 * words (seed, model, features) stay as they are.
 */
final class OptionNames {
  /** Record fields whose option is not named after them, where the command has that option. */
  private static final Map<String, String> ALIASES = Map.of(
      "learningRate", "--lr",
      "minLearningRate", "--min-lr",
      "hiddenDim", "--hidden",
      "clamInstanceWeight", "--clam-weight",
      "transmilLandmarks", "--landmarks");

  private OptionNames() {}

  /** {@code message} with the command's settings field names replaced by their options. */
  static String rewrite(String message, CommandSpec spec) {
    Map<String, String> names = new LinkedHashMap<>();
    for (OptionSpec o : spec.options()) {
      String flag = o.longestName();
      if (!flag.startsWith("--")) {
        continue;
      }
      names.putIfAbsent(camel(flag), flag);
      if (o.userObject() instanceof Field f) {
        names.putIfAbsent(f.getName(), flag);
      }
    }
    for (Map.Entry<String, String> a : ALIASES.entrySet()) {
      if (spec.findOption(a.getValue()) != null) {
        names.put(a.getKey(), a.getValue());
      }
    }
    return rewrite(message, names);
  }

  /** {@code message} with each key of {@code names} replaced by its value. */
  static String rewrite(String message, Map<String, String> names) {
    if (message == null) {
      return null;
    }
    List<String> keys = new ArrayList<>(names.keySet());
    keys.sort(Comparator.comparingInt(String::length).reversed());
    String out = message;
    for (String key : keys) {
      boolean camel = !key.equals(key.toLowerCase(java.util.Locale.ROOT));
      String word = "(?<![\\w./-])" + Pattern.quote(key) + (camel ? "(?![\\w])" : "(?==)");
      out = out.replaceAll(word, Matcher.quoteReplacement(names.get(key)));
    }
    return out;
  }

  /**
   * Builds a part of the settings whose record fields belong to other options than the command's
   * defaults (e.g. the patch optimizer's learningRate is {@code --patch-lr}).
   */
  static <T> T as(Map<String, String> names, Supplier<T> build) {
    try {
      return build.get();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(rewrite(e.getMessage(), names), e);
    }
  }

  /** {@code --weight-decay} to {@code weightDecay}. */
  static String camel(String flag) {
    String[] parts = flag.replaceFirst("^-+", "").split("-");
    StringBuilder b = new StringBuilder(parts[0]);
    for (int i = 1; i < parts.length; i++) {
      if (!parts[i].isEmpty()) {
        b.append(Character.toUpperCase(parts[i].charAt(0))).append(parts[i].substring(1));
      }
    }
    return b.toString();
  }
}
