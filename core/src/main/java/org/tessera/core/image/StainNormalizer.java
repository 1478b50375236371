package org.tessera.core.image;

import java.io.Serializable;

/**
 * Maps a tile's colours to a reference staining, so an encoder sees slides from different labs,
 * scanners and staining batches alike. Implementations are immutable values: they are built once
 * on the driver (possibly fitted to a reference image), serialised to the executors, and shared
 * by all their threads.
 */
public interface StainNormalizer extends Serializable {

  /**
   * The normalised tile as a new array of packed 0xRRGGBB pixels (alpha ignored, written as 0).
   * {@code rgb} is never modified. Tiles the method cannot analyse (background only, a single
   * colour, too little stained tissue) come back unchanged: normalising them would invent colour.
   *
   * @param rgb row-major pixels, {@code w * h} of them
   */
  int[] normalize(int[] rgb, int w, int h);

  /**
   * Method and reference values, e.g. {@code macenko(io=240,...,h=[...],e=[...])}, recorded with
   * every feature set so that features made under different normalisations are never mixed. Two
   * normalisers with equal descriptions produce identical pixels.
   */
  String describe();
}
