package org.tessera.wsi.synth;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.imageio.ImageIO;

/**
 * Writes a labelled cohort of synthetic whole-slide images with known lesion locations, so the
 * pipeline can be tested and demonstrated end to end without patient data.
 *
 * <p>Layout of {@code outDir}:
 * <pre>
 *   slides/&lt;slide_id&gt;.svs|.tif  pyramidal tiled JPEG TIFFs (Aperio-flavoured or generic)
 *   labels.csv                   slide_id,label,patient_id   (label: normal | tumor)
 *   masks/&lt;slide_id&gt;.png         8-bit lesion masks, 255 = lesion, one pixel per
 *                                maskDownsample x maskDownsample level-0 pixels
 *   masks/masks.json             mask downsample, slide and mask sizes, lesion fractions
 * </pre>
 * Tumour slides carry 1-3 lesions: denser, dark purple-blue tissue covering 7-20% of the tissue,
 * so a slide label does not say which tiles are positive (the multiple-instance setting).
 */
public final class SynthCohort {
  public static final String SLIDES_DIR = "slides";
  public static final String MASKS_DIR = "masks";
  public static final String LABELS_CSV = "labels.csv";
  public static final String MASKS_JSON = "masks.json";

  private final CohortParams params;

  public SynthCohort(CohortParams params) {
    this.params = params;
  }

  /** Generates the cohort into {@code outDir} (created if needed; files of the same name are replaced). */
  public List<SynthSlide> generate(Path outDir) throws IOException {
    Path vips = Vips.locate();
    Path slidesDir = Files.createDirectories(outDir.resolve(SLIDES_DIR));
    Path masksDir = Files.createDirectories(outDir.resolve(MASKS_DIR));
    List<Plan> plans = plan();

    int threads = Math.min(params.threads(), plans.size());
    ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "synth-slide");
      t.setDaemon(true);
      return t;
    });
    List<SynthSlide> slides = new ArrayList<>();
    try {
      List<Future<SynthSlide>> futures = new ArrayList<>();
      for (Plan p : plans) {
        futures.add(pool.submit(() -> write(p, vips, slidesDir, masksDir)));
      }
      for (Future<SynthSlide> f : futures) {
        slides.add(f.get());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while generating slides", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof IOException io) {
        throw io;
      }
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      throw new IOException(cause);
    } finally {
      pool.shutdownNow();
    }

    writeLabels(outDir.resolve(LABELS_CSV), slides);
    writeMaskIndex(masksDir.resolve(MASKS_JSON), slides);
    return slides;
  }

  private record Plan(String slideId, String patientId, boolean tumor, boolean aperio,
      long seed) {}

  /** Labels, formats, patients and per-slide seeds, all drawn up front from the master seed. */
  private List<Plan> plan() {
    int n = params.slides();
    Random rnd = new Random(params.seed());
    boolean[] tumor = pick(rnd, n, params.tumorFraction(), true);
    boolean[] aperio = pick(rnd, n, params.aperioFraction(),
        params.aperioFraction() > 0 && params.aperioFraction() < 1);

    // Patients take one or two consecutive slides, so patient-level splits have something to do.
    String[] patient = new String[n];
    int patients = 0;
    boolean paired = false;
    for (int i = 0; i < n; patients++) {
      boolean two = i + 1 < n && rnd.nextDouble() < 0.35;
      patient[i++] = patientId(patients);
      if (two) {
        patient[i++] = patientId(patients);
        paired = true;
      }
    }
    if (!paired && n >= 3) {
      patient[n - 1] = patient[n - 2];
    }

    int digits = Math.max(3, Integer.toString(n - 1).length());
    List<Plan> plans = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      String id = String.format(Locale.ROOT, "slide_%0" + digits + "d", i);
      plans.add(new Plan(id, patient[i], tumor[i], aperio[i], rnd.nextLong()));
    }
    return plans;
  }

  private static String patientId(int k) {
    return String.format(Locale.ROOT, "patient_%03d", k);
  }

  /** Exactly round(n * fraction) trues at random positions, at least one of each when asked. */
  private static boolean[] pick(Random rnd, int n, double fraction, boolean bothKinds) {
    int k = (int) Math.round(n * fraction);
    if (bothKinds && n >= 2) {
      k = Math.max(1, Math.min(n - 1, k));
    }
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      order.add(i);
    }
    Collections.shuffle(order, rnd);
    boolean[] out = new boolean[n];
    for (int i = 0; i < k; i++) {
      out[order.get(i)] = true;
    }
    return out;
  }

  private SynthSlide write(Plan plan, Path vips, Path slidesDir, Path masksDir) throws IOException {
    int w = params.width();
    int h = params.height();
    Path slide = slidesDir.resolve(plan.slideId() + (plan.aperio() ? ".svs" : ".tif"));
    Path ppm = Files.createTempFile(slidesDir, "." + plan.slideId() + "-", ".ppm");
    SlidePainter.Painted painted;
    try {
      painted = new SlidePainter(plan.seed(), plan.tumor(), w, h, params.tileSize(),
          params.lesionContrast()).paint(ppm, params.maskDownsample());
      Files.deleteIfExists(slide);
      long timeout = 120 + (long) w * h / 1_000_000L;
      Vips.tiffPyramid(vips, ppm, slide, params.tileSize(), params.jpegQuality(), timeout);
    } finally {
      Files.deleteIfExists(ppm);
    }
    if (plan.aperio()) {
      TiffDescription.set(slide, aperioDescription());
    }
    writeMask(masksDir.resolve(plan.slideId() + ".png"), painted);
    return new SynthSlide(plan.slideId(), plan.patientId(), plan.tumor(), slide, plan.aperio(), w, h,
        painted.tissuePixels(), painted.lesionPixels());
  }

  /** What an Aperio scanner writes in tag 270: OpenSlide takes vendor, MPP and magnification from it. */
  private String aperioDescription() {
    int w = params.width();
    int h = params.height();
    int t = params.tileSize();
    return String.format(Locale.ROOT,
        "Aperio Image Library v10.0.51\n%dx%d [0,0 %dx%d] (%dx%d) JPEG/RGB Q=%d|AppMag = %s|MPP = %.4f",
        w, h, w, h, t, t, params.jpegQuality(), magnification(params.mpp()), params.mpp());
  }

  /** Nominal objective power for a pixel size: 10 µm at 1x (0.5 µm/px is "20x", 0.25 is "40x"). */
  private static String magnification(double mpp) {
    double mag = 10.0 / mpp;
    return mag == Math.rint(mag) ? Long.toString((long) mag) : String.format(Locale.ROOT, "%.2f", mag);
  }

  private static void writeMask(Path png, SlidePainter.Painted painted) throws IOException {
    BufferedImage img = new BufferedImage(painted.maskWidth(), painted.maskHeight(),
        BufferedImage.TYPE_BYTE_GRAY);
    byte[] data = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
    System.arraycopy(painted.mask(), 0, data, 0, data.length);
    if (!ImageIO.write(img, "png", png.toFile())) {
      throw new IOException("no PNG writer available for " + png);
    }
  }

  private static void writeLabels(Path csv, List<SynthSlide> slides) throws IOException {
    StringBuilder sb = new StringBuilder("slide_id,label,patient_id\n");
    for (SynthSlide s : slides) {
      sb.append(s.slideId()).append(',').append(s.label()).append(',').append(s.patientId()).append('\n');
    }
    Files.writeString(csv, sb.toString(), StandardCharsets.UTF_8);
  }

  private void writeMaskIndex(Path json, List<SynthSlide> slides) throws IOException {
    int ds = params.maskDownsample();
    StringBuilder sb = new StringBuilder();
    sb.append("{\n");
    sb.append("  \"downsample\": ").append(ds).append(",\n");
    sb.append("  \"meaning\": \"255 = lesion: at least half of the downsample x downsample level-0 "
        + "pixels under the mask pixel are lesion; 0 = not lesion (tissue or glass)\",\n");
    sb.append("  \"slides\": [\n");
    for (int i = 0; i < slides.size(); i++) {
      SynthSlide s = slides.get(i);
      sb.append(String.format(Locale.ROOT,
          "    {\"slide_id\": \"%s\", \"label\": \"%s\", \"width\": %d, \"height\": %d, "
              + "\"mask_width\": %d, \"mask_height\": %d, \"tissue_pixels\": %d, "
              + "\"lesion_pixels\": %d, \"lesion_fraction_of_tissue\": %.6f}%s\n",
          s.slideId(), s.label(), s.width(), s.height(), (s.width() + ds - 1) / ds,
          (s.height() + ds - 1) / ds, s.tissuePixels(), s.lesionPixels(), s.lesionFraction(),
          i + 1 < slides.size() ? "," : ""));
    }
    sb.append("  ]\n}\n");
    Files.writeString(json, sb.toString(), StandardCharsets.UTF_8);
  }
}
