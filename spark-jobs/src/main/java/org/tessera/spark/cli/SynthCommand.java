package org.tessera.spark.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.tessera.wsi.synth.CohortParams;
import org.tessera.wsi.synth.SynthCohort;
import org.tessera.wsi.synth.SynthSlide;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "synth", mixinStandardHelpOptions = true,
    description = {"Write a synthetic cohort: pyramidal JPEG TIFF slides made of real IHC tissue "
        + "texture, about half with planted lesions, plus labels.csv and ground-truth lesion masks.",
        "Output: DIR/slides/*.svs|*.tif, DIR/labels.csv (slide_id,label,patient_id), "
            + "DIR/masks/<slide_id>.png and DIR/masks/masks.json."})
final class SynthCommand implements Callable<Integer> {
  private static final CohortParams DEFAULTS = CohortParams.defaults();

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder.")
  Path out;

  @Option(names = "--slides", paramLabel = "N", description = "Number of slides (default: ${DEFAULT-VALUE}).")
  int slides = DEFAULTS.slides();

  @Option(names = "--seed", paramLabel = "S", description = "Random seed (default: ${DEFAULT-VALUE}).")
  long seed = DEFAULTS.seed();

  @Option(names = "--width", paramLabel = "PX", description = "Level-0 width of each slide (default: ${DEFAULT-VALUE}).")
  int width = DEFAULTS.width();

  @Option(names = "--height", paramLabel = "PX", description = "Level-0 height of each slide (default: ${DEFAULT-VALUE}).")
  int height = DEFAULTS.height();

  @Option(names = "--tumor-fraction", paramLabel = "F",
      description = "Share of slides with lesions (default: ${DEFAULT-VALUE}).")
  double tumorFraction = DEFAULTS.tumorFraction();

  @Option(names = "--aperio-fraction", paramLabel = "F",
      description = "Share of slides written Aperio-flavoured with MPP; the rest are generic TIFF "
          + "without MPP (default: ${DEFAULT-VALUE}).")
  double aperioFraction = DEFAULTS.aperioFraction();

  @Option(names = "--mpp", paramLabel = "UM", description = "Microns per pixel recorded in Aperio slides (default: ${DEFAULT-VALUE}).")
  double mpp = DEFAULTS.mpp();

  @Option(names = "--lesion-contrast", paramLabel = "C",
      description = "How far lesion colour departs from normal tissue, 0..1; below 1 lesions are "
          + "told apart mostly by their finer cell texture (default: ${DEFAULT-VALUE}).")
  double lesionContrast = DEFAULTS.lesionContrast();

  @Option(names = "--threads", paramLabel = "T", description = "Slides made at once (default: cores).")
  int threads = DEFAULTS.threads();

  @Override
  public Integer call() throws Exception {
    CohortParams p = new CohortParams(slides, seed, width, height, tumorFraction, aperioFraction,
        mpp, DEFAULTS.jpegQuality(), DEFAULTS.tileSize(), DEFAULTS.maskDownsample(), threads,
        lesionContrast);
    long t0 = System.nanoTime();
    List<SynthSlide> made = new SynthCohort(p).generate(out);
    long tumors = made.stream().filter(SynthSlide::tumor).count();
    System.out.printf("synth: %d slides (%d tumor, %d normal) %dx%d in %.1f s -> %s%n",
        made.size(), tumors, made.size() - tumors, width, height, (System.nanoTime() - t0) / 1e9,
        out.toAbsolutePath());
    return 0;
  }
}
