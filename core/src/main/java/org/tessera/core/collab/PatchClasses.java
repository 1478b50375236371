package org.tessera.core.collab;

import java.util.ArrayList;
import java.util.List;

/**
 * The classes the patch classifier learns, derived from the slide classes. A tile at the top of a
 * slide's ranking takes the slide's class; a tile at the bottom takes the negative class, the
 * class of tissue that carries no evidence for any label. For two slide classes that is the class
 * other than the positive one (tumour vs normal); with more classes it is a named slide class
 * (e.g. {@code normal} among subtypes) or, when none is named, an extra {@code background} class.
 *
 * @param names         patch class names in index order: the slide classes, then
 *                      {@link #BACKGROUND} when it was added
 * @param negative      index of the negative class in {@code names}
 * @param slideClasses  the slide classes, in the head's index order
 */
public record PatchClasses(List<String> names, int negative, List<String> slideClasses) {

  public static final String BACKGROUND = "background";

  public PatchClasses {
    names = List.copyOf(names);
    slideClasses = List.copyOf(slideClasses);
  }

  /**
   * @param slideClasses the head's classes in index order (at least two)
   * @param positive     for two classes, the positive class; empty: the second (index 1)
   * @param negative     for more classes, the class whose slides carry no lesion; empty: an extra
   *                     background class
   * @throws IllegalArgumentException naming the option when a class is unknown or the option
   *     does not apply
   */
  public static PatchClasses of(List<String> slideClasses, String positive, String negative) {
    if (slideClasses.size() < 2) {
      throw new IllegalArgumentException("the slide labels have " + slideClasses.size()
          + " class(es); the collaborative loop needs at least two");
    }
    if (slideClasses.size() == 2) {
      if (!negative.isEmpty()) {
        throw new IllegalArgumentException("--negative-class applies to more than two classes; "
            + "with two, name the positive one with --positive-class");
      }
      String pos = positive.isEmpty() ? slideClasses.get(1) : positive;
      int p = slideClasses.indexOf(pos);
      if (p < 0) {
        throw new IllegalArgumentException("--positive-class " + pos + " is not one of the slide"
            + " classes " + slideClasses);
      }
      return new PatchClasses(slideClasses, 1 - p, slideClasses);
    }
    if (!positive.isEmpty()) {
      throw new IllegalArgumentException("--positive-class applies to two classes; with "
          + slideClasses.size() + " name the lesion-free class with --negative-class, or leave "
          + "it out for an extra background patch class");
    }
    if (negative.isEmpty()) {
      List<String> names = new ArrayList<>(slideClasses);
      if (names.contains(BACKGROUND)) {
        throw new IllegalArgumentException("a slide class is called " + BACKGROUND + ": pass "
            + "--negative-class " + BACKGROUND + " if those slides are lesion-free");
      }
      names.add(BACKGROUND);
      return new PatchClasses(names, names.size() - 1, slideClasses);
    }
    int n = slideClasses.indexOf(negative);
    if (n < 0) {
      throw new IllegalArgumentException("--negative-class " + negative + " is not one of the "
          + "slide classes " + slideClasses);
    }
    return new PatchClasses(slideClasses, n, slideClasses);
  }

  /** Number of patch classes. */
  public int size() {
    return names.size();
  }

  /** The patch class of a slide class index (the same index: slide classes come first). */
  public int ofSlideClass(int slideClass) {
    if (slideClass < 0 || slideClass >= slideClasses.size()) {
      throw new IllegalArgumentException("slide class index " + slideClass + " outside "
          + slideClasses);
    }
    return slideClass;
  }
}
