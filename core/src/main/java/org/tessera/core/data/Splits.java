package org.tessera.core.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Train / validation / test partitions of a {@link LabelTable}, always by patient: slides of one
 * patient share tissue, scanner and staining, so a patient on both sides of a split inflates every
 * metric. Stratification uses each patient's main label (its most frequent, the lower class index
 * on a tie) so that classes keep their proportions in every part. Everything is a function of the
 * table and the seed: patients are shuffled with {@link Random}, whose sequence Java specifies, so
 * the same table and seed give the same splits on every machine.
 */
public final class Splits {
  public static final double DEFAULT_VAL_FRACTION = 0.2;

  /**
   * One partition of slide ids. {@code name} is {@code given} for the table's own splits and
   * {@code fold-<k>} for cross-validation; {@code test} may be empty for given splits.
   */
  public record Split(String name, Set<String> train, Set<String> val, Set<String> test) {
    public Split {
      train = Collections.unmodifiableSet(new TreeSet<>(train));
      val = Collections.unmodifiableSet(new TreeSet<>(val));
      test = Collections.unmodifiableSet(new TreeSet<>(test));
    }
  }

  private Splits() {}

  /**
   * The table's own splits. Every row must name one and train must be non-empty; without val rows,
   * a stratified {@code valFraction} of the training patients is held out for early stopping.
   */
  public static Split given(LabelTable table, double valFraction, long seed) {
    checkFraction(valFraction);
    if (!table.hasSplitColumn()) {
      throw new IllegalArgumentException(table.source() + " has no split column: add one"
          + " (train, val or test per row) or use k-fold cross-validation");
    }
    List<String> train = new ArrayList<>();
    List<String> val = new ArrayList<>();
    List<String> test = new ArrayList<>();
    for (LabelTable.Entry e : table.entries()) {
      if (e.split() == null) {
        throw new IllegalArgumentException(table.source() + " line " + e.line() + ": split of "
            + e.slideId() + " is empty: give every row train, val or test, or leave the column"
            + " out and use k-fold cross-validation");
      }
      switch (e.split()) {
        case "train" -> train.add(e.slideId());
        case "val" -> val.add(e.slideId());
        default -> test.add(e.slideId());
      }
    }
    if (train.isEmpty()) {
      throw new IllegalArgumentException(table.source() + " has no rows with split train: mark"
          + " the slides to train on as train");
    }
    Split split = val.isEmpty()
        ? holdOut("given", table, train, test, valFraction, seed)
        : new Split("given", Set.copyOf(train), Set.copyOf(val), Set.copyOf(test));
    requireTwoClasses(table, split);
    return split;
  }

  /** {@link #kFold(LabelTable, int, double, long)} with the default validation fraction. */
  public static List<Split> kFold(LabelTable table, int k, long seed) {
    return kFold(table, k, DEFAULT_VAL_FRACTION, seed);
  }

  /**
   * {@code k} folds over all rows: patients of each main label are shuffled and dealt to the fold
   * with the fewest slides of that label so far (largest patients first), so each fold's test part
   * has every class in proportion and no patient is in two folds. Fold {@code i}'s validation part
   * is a stratified {@code valFraction} of the patients outside its test part.
   */
  public static List<Split> kFold(LabelTable table, int k, double valFraction, long seed) {
    checkFraction(valFraction);
    if (k < 2) {
      throw new IllegalArgumentException("k-fold needs at least 2 folds, got " + k
          + ": use 2 or more, or given splits");
    }
    Map<String, List<String>> slidesByPatient = slidesByPatient(table, null);
    Map<Integer, List<String>> byClass = patientsByMainLabel(table, slidesByPatient);
    for (int c = 0; c < table.classes().size(); c++) {
      int n = byClass.getOrDefault(c, List.of()).size();
      if (n < k) {
        throw new IllegalArgumentException(k + " folds need at least " + k + " patients of every"
            + " class, but class " + table.classes().get(c) + " in " + table.source() + " has " + n
            + ": use at most " + Math.max(n, 2) + " folds or add patients of that class");
      }
    }
    Random random = new Random(seed);
    List<List<String>> foldPatients = new ArrayList<>();
    long[] foldSlides = new long[k];
    for (int f = 0; f < k; f++) {
      foldPatients.add(new ArrayList<>());
    }
    for (List<String> patients : byClass.values()) {
      List<String> order = shuffled(patients, random);
      // Largest patients first, so the small ones even out the slide counts at the end.
      order.sort(Comparator.comparingInt((String p) -> slidesByPatient.get(p).size()).reversed());
      long[] classSlides = new long[k];
      for (String p : order) {
        int best = 0;
        for (int f = 1; f < k; f++) {
          if (classSlides[f] < classSlides[best]
              || (classSlides[f] == classSlides[best] && foldSlides[f] < foldSlides[best])) {
            best = f;
          }
        }
        int size = slidesByPatient.get(p).size();
        classSlides[best] += size;
        foldSlides[best] += size;
        foldPatients.get(best).add(p);
      }
    }
    List<Split> folds = new ArrayList<>();
    for (int f = 0; f < k; f++) {
      List<String> test = new ArrayList<>();
      List<String> rest = new ArrayList<>();
      for (int g = 0; g < k; g++) {
        for (String p : foldPatients.get(g)) {
          (g == f ? test : rest).addAll(slidesByPatient.get(p));
        }
      }
      Split split = holdOut("fold-" + f, table, rest, test, valFraction, seed + 1 + f);
      requireTwoClasses(table, split);
      folds.add(split);
    }
    return List.copyOf(folds);
  }

  /**
   * One patient-grouped, stratified hold-out over all rows, for a table without a split column:
   * fold 0 of a {@link #kFold} split with 5 folds, or fewer when a class has fewer patients (at
   * least 2 of every class, one to test on and one to train on).
   */
  public static Split patientHoldOut(LabelTable table, double valFraction, long seed) {
    checkFraction(valFraction);
    if (table.classes().size() < 2) {
      throw new IllegalArgumentException(table.source() + " has only class "
          + String.join("", table.classes()) + ": training needs slides of at least two classes");
    }
    Map<Integer, List<String>> byClass = patientsByMainLabel(table, slidesByPatient(table, null));
    int fewest = Integer.MAX_VALUE;
    String smallest = null;
    for (int c = 0; c < table.classes().size(); c++) {
      int n = byClass.getOrDefault(c, List.of()).size();
      if (n < fewest) {
        fewest = n;
        smallest = table.classes().get(c);
      }
    }
    if (fewest < 2) {
      throw new IllegalArgumentException("the hold-out split (--folds 0 and no split column in "
          + table.source() + ") needs at least 2 patients of every class, one to test on and one "
          + "to train on, but class " + smallest + " has " + fewest + ": add patients of that "
          + "class, or give the table a split column (train, val or test per row)");
    }
    Split f = kFold(table, Math.min(5, fewest), valFraction, seed).get(0);
    return new Split("holdout", f.train(), f.val(), f.test());
  }

  /**
   * Splits {@code train} slides into train and val by patient: per main label,
   * {@code round(valFraction * patients)} patients, at least one when the class has two or more
   * (so validation sees every class it can) and never all of them (so training does too).
   */
  static Split holdOut(String name, LabelTable table, List<String> train, List<String> test,
      double valFraction, long seed) {
    Map<String, List<String>> slidesByPatient = slidesByPatient(table, Set.copyOf(train));
    Map<Integer, List<String>> byClass = patientsByMainLabel(table, slidesByPatient);
    Random random = new Random(seed);
    Set<String> val = new TreeSet<>();
    for (List<String> patients : byClass.values()) {
      int n = patients.size();
      int take = (int) Math.round(valFraction * n);
      take = Math.min(Math.max(take, n >= 2 ? 1 : 0), n - 1);
      for (String p : shuffled(patients, random).subList(0, take)) {
        val.addAll(slidesByPatient.get(p));
      }
    }
    Set<String> rest = new TreeSet<>(train);
    rest.removeAll(val);
    return new Split(name, rest, val, Set.copyOf(test));
  }

  private static void requireTwoClasses(LabelTable table, Split split) {
    Set<String> labels = new TreeSet<>();
    split.train().forEach(id -> labels.add(table.entry(id).label()));
    if (labels.size() < 2) {
      throw new IllegalArgumentException(split.name() + " training split of " + table.source()
          + " has only class " + String.join("", labels) + ": need at least two classes");
    }
  }

  /** Slide ids per patient (of {@code only}, when not null), both in sorted order. */
  private static Map<String, List<String>> slidesByPatient(LabelTable table, Set<String> only) {
    Map<String, List<String>> byPatient = new TreeMap<>();
    for (LabelTable.Entry e : table.entries()) {
      if (only == null || only.contains(e.slideId())) {
        byPatient.computeIfAbsent(e.patientId(), p -> new ArrayList<>()).add(e.slideId());
      }
    }
    byPatient.values().forEach(l -> l.sort(null));
    return byPatient;
  }

  /** Patients (sorted) per class index of their main label, classes in index order. */
  private static Map<Integer, List<String>> patientsByMainLabel(LabelTable table,
      Map<String, List<String>> slidesByPatient) {
    Map<Integer, List<String>> byClass = new TreeMap<>();
    for (var e : slidesByPatient.entrySet()) {
      Map<Integer, Integer> counts = new HashMap<>();
      for (String id : e.getValue()) {
        counts.merge(table.classIndex(table.entry(id).label()), 1, Integer::sum);
      }
      int main = counts.entrySet().stream()
          .max(Map.Entry.<Integer, Integer>comparingByValue()
              .thenComparing(Map.Entry.comparingByKey(Comparator.reverseOrder())))
          .orElseThrow().getKey();
      byClass.computeIfAbsent(main, c -> new ArrayList<>()).add(e.getKey());
    }
    return byClass;
  }

  private static List<String> shuffled(List<String> sorted, Random random) {
    List<String> copy = new ArrayList<>(sorted);
    Collections.shuffle(copy, random);
    return copy;
  }

  private static void checkFraction(double valFraction) {
    if (!(valFraction > 0 && valFraction < 1)) {
      throw new IllegalArgumentException("validation fraction " + valFraction + " is not between"
          + " 0 and 1: use e.g. " + DEFAULT_VAL_FRACTION);
    }
  }
}
