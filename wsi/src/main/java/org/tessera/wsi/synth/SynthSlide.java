package org.tessera.wsi.synth;

import java.nio.file.Path;

/**
 * One slide of a generated cohort, as written to disk.
 *
 * @param slideId        file stem, unique in the cohort
 * @param patientId      patient the slide belongs to; some patients have two slides
 * @param tumor          whether lesions were planted (label {@code tumor}) or not ({@code normal})
 * @param path           the slide file: {@code .svs} when Aperio-flavoured, {@code .tif} otherwise
 * @param aperio         whether the file carries an Aperio description (vendor and MPP)
 * @param width          level-0 width, pixels
 * @param height         level-0 height, pixels
 * @param tissuePixels   level-0 pixels painted as tissue
 * @param lesionPixels   level-0 pixels painted as lesion (a subset of the tissue)
 */
public record SynthSlide(
    String slideId,
    String patientId,
    boolean tumor,
    Path path,
    boolean aperio,
    int width,
    int height,
    long tissuePixels,
    long lesionPixels) {

  public static final String TUMOR = "tumor";
  public static final String NORMAL = "normal";

  /** The label as written to {@code labels.csv}. */
  public String label() {
    return tumor ? TUMOR : NORMAL;
  }

  /** Share of the tissue that is lesion: 0 for normal slides. */
  public double lesionFraction() {
    return tissuePixels == 0 ? 0 : (double) lesionPixels / tissuePixels;
  }
}
