package org.tessera.core.collab;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * The E-step: ranks one slide's tiles and labels the extremes. Round 1 ranks by the slide model's
 * attention alone; later rounds by the attention scaled to [0, 1] within the slide times the patch
 * classifier's probability of the slide's class, so a tile must both draw the slide model's
 * attention and look like its class to the patch model. The top k tiles take the slide's class,
 * the bottom k the negative class (see {@link PatchClasses}); a slide of the negative class gives
 * negatives at both ends. k is a fraction of the slide's tiles that grows with the round, as the
 * two models agree more, and never lets the two ends overlap.
 */
public final class PseudoLabeler {

  /**
   * @param startFraction share of a slide's tiles taken at each end in round 1
   * @param fractionStep  added per later round
   * @param maxFraction   upper bound of the share, at most 0.5
   */
  public record Schedule(double startFraction, double fractionStep, double maxFraction) {
    public Schedule {
      if (!(startFraction > 0 && startFraction <= 0.5)) {
        throw new IllegalArgumentException("--pseudo-fraction must be in (0, 0.5], got "
            + startFraction);
      }
      if (!(fractionStep >= 0 && fractionStep <= 0.5)) {
        throw new IllegalArgumentException("--pseudo-fraction-step must be in [0, 0.5], got "
            + fractionStep);
      }
      if (!(maxFraction >= startFraction && maxFraction <= 0.5)) {
        throw new IllegalArgumentException("--pseudo-fraction-max must be in [--pseudo-fraction, "
            + "0.5], got " + maxFraction);
      }
    }

    /** The share of tiles labelled at each end in {@code round} (1-based). */
    public double fraction(int round) {
      if (round < 1) {
        throw new IllegalArgumentException("E-step rounds count from 1, got " + round);
      }
      return Math.min(maxFraction, startFraction + (round - 1) * fractionStep);
    }

    /** Tiles taken at each end of a slide with {@code n} tiles: at least 1, at most n / 2. */
    public int k(int round, int n) {
      return Math.min(n / 2, Math.max(1, (int) Math.round(fraction(round) * n)));
    }
  }

  /**
   * One tile of a slide.
   *
   * @param x           level-0 left edge, the tile's key within its slide with {@code y}
   * @param y           level-0 top edge
   * @param attention   the slide model's attention (or instance score) for the tile
   * @param probability the patch classifier's probability of the slide's class; NaN in round 1
   */
  public record Tile(long x, long y, double attention, double probability) {}

  /**
   * A pseudo-labelled tile.
   *
   * @param score the ranking score
   * @param rank  0-based position in the slide's ranking, highest score first
   * @param top   whether it was taken from the top of the ranking
   */
  public record Choice(long x, long y, int patchClass, double score, int rank, boolean top) {}

  private PseudoLabeler() {}

  /**
   * The pseudo-labelled tiles of one slide, top first.
   *
   * @param slideClass the slide's class index
   * @param round      1-based EM round; from round 2 every tile needs a probability
   */
  public static List<Choice> select(List<Tile> tiles, int slideClass, PatchClasses classes,
      int round, Schedule schedule) {
    int n = tiles.size();
    if (n < 2) {
      return List.of();
    }
    double[] score = scores(tiles, round);
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    // Ties (equal attention is common in flat regions) fall back to position, so the choice does
    // not depend on the order the tiles were read in.
    Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> -score[i])
        .thenComparingLong(i -> tiles.get(i).y()).thenComparingLong(i -> tiles.get(i).x()));
    int k = schedule.k(round, n);
    int positive = classes.ofSlideClass(slideClass);
    List<Choice> out = new ArrayList<>(2 * k);
    for (int r = 0; r < k; r++) {
      Tile t = tiles.get(order[r]);
      out.add(new Choice(t.x(), t.y(), positive, score[order[r]], r, true));
    }
    for (int r = n - k; r < n; r++) {
      Tile t = tiles.get(order[r]);
      out.add(new Choice(t.x(), t.y(), classes.negative(), score[order[r]], r, false));
    }
    return out;
  }

  private static double[] scores(List<Tile> tiles, int round) {
    int n = tiles.size();
    double[] s = new double[n];
    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < n; i++) {
      double a = tiles.get(i).attention();
      if (!Double.isFinite(a)) {
        throw new IllegalArgumentException("tile (" + tiles.get(i).x() + ", " + tiles.get(i).y()
            + ") has attention " + a + ": the slide model's attention map is broken");
      }
      s[i] = a;
      lo = Math.min(lo, a);
      hi = Math.max(hi, a);
    }
    if (round == 1) {
      return s;
    }
    double span = hi - lo;
    for (int i = 0; i < n; i++) {
      double p = tiles.get(i).probability();
      if (!(p >= 0 && p <= 1)) {
        throw new IllegalArgumentException("tile (" + tiles.get(i).x() + ", " + tiles.get(i).y()
            + ") has patch probability " + p + " in round " + round + ": later rounds need the "
            + "previous round's patch classifier");
      }
      // A slide with flat attention leaves the ranking to the patch classifier alone.
      double a = span > 0 ? (s[i] - lo) / span : 1.0;
      s[i] = a * p;
    }
    return s;
  }
}
