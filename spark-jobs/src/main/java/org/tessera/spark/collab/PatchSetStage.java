package org.tessera.spark.collab;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.tessera.core.Errors;
import org.tessera.core.image.PackedRgb;
import org.tessera.core.image.Resampler;
import org.tessera.core.image.StainNormalizer;
import org.tessera.core.image.StainNormalizers;
import org.tessera.core.image.TilePreprocessor;
import org.tessera.spark.io.AtomicFiles;
import org.tessera.spark.io.HadoopConf;
import org.tessera.spark.io.ParquetRows;
import org.tessera.spark.io.RangeCommit;
import org.tessera.spark.io.SlideTable;
import org.tessera.spark.io.TileIndex;
import org.tessera.spark.tile.LocalSlides;
import org.tessera.spark.tile.TilePixels;

/**
 * Cuts the pseudo-labelled tiles out of their slides once per round, resized to the encoder's
 * input and stain-normalised as the embed stage would, and stores them as RGB bytes with their
 * label, set and shard: {@code patches/<slide_id>.parquet}, one task per slide so every slide is
 * opened once. The M-step's workers then read patches, not slides, for every epoch. A slide
 * whose file exists is skipped (resume); a slide that cannot be read is reported and left out.
 */
final class PatchSetStage {

  static final MessageType SCHEMA = MessageTypeParser.parseMessageType("""
      message patch {
        required binary slide_id (STRING);
        required int64 x;
        required int64 y;
        required int32 patch_class;
        required binary set (STRING);
        required int32 shard;
        required int32 size;
        required binary rgb;
      }
      """);

  /** One slide's work: its chosen tiles, keyed by position. */
  record SlideJob(String slideId, String path, Map<Long, int[]> chosen,
      Map<Long, String> sets) implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  record Result(String slideId, int patches, String error) implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  record Summary(int slides, int skipped, int patches, Map<String, String> failures) {
    String describe() {
      return "patches: " + patches + " cut from " + (slides - skipped) + " slides ("
          + skipped + " already done" + (failures.isEmpty() ? "" : ", " + failures.size()
          + " failed: " + failures) + ")";
    }
  }

  private PatchSetStage() {}

  static Summary run(SparkSession spark, Path tilesRoot, Path pseudoLabels,
      TilePreprocessor.Config preprocessing, String cacheDir, org.tessera.wsi.ReaderKind reader, Path out,
      PrintStream console)
      throws IOException {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Configuration conf = jsc.hadoopConfiguration();
    FileSystem fs = out.getFileSystem(conf);
    Map<String, Row> slides = new HashMap<>();
    for (Row r : spark.read().parquet(new Path(tilesRoot, SlideTable.DIR).toString())
        .select("slide_id", "path", "status").collectAsList()) {
      if (SlideTable.OK.equals(r.getString(2))) {
        slides.put(r.getString(0), r);
      }
    }
    Map<String, Map<Long, int[]>> chosen = new TreeMap<>();
    Map<String, Map<Long, String>> sets = new HashMap<>();
    for (Row r : spark.read().parquet(pseudoLabels.toString())
        .select("slide_id", "x", "y", "patch_class", "shard", "set").collectAsList()) {
      long key = PseudoLabelStage.key(r.getLong(1), r.getLong(2));
      chosen.computeIfAbsent(r.getString(0), k -> new HashMap<>())
          .put(key, new int[] {r.getInt(3), r.getInt(4)});
      sets.computeIfAbsent(r.getString(0), k -> new HashMap<>()).put(key, r.getString(5));
    }
    List<SlideJob> jobs = new ArrayList<>();
    Map<String, String> failures = new TreeMap<>();
    int skipped = 0;
    for (Map.Entry<String, Map<Long, int[]>> e : chosen.entrySet()) {
      Row s = slides.get(e.getKey());
      if (s == null) {
        failures.put(e.getKey(), "not in the tile index's slides table as ok");
      } else if (fs.exists(partOf(out, e.getKey()))) {
        skipped++;
      } else {
        jobs.add(new SlideJob(e.getKey(), s.getString(1), e.getValue(),
            sets.get(e.getKey())));
      }
    }
    HadoopConf hc = new HadoopConf(conf);
    String tiles = tilesRoot.toString();
    String outDir = out.toString();
    int patches = 0;
    if (!jobs.isEmpty()) {
      jsc.setJobGroup("tessera-patches", "cut pseudo-labelled patches from " + jobs.size()
          + " slides");
      try {
        for (Result r : jsc.parallelize(jobs, jobs.size())
            .map(j -> cut(j, hc.get(), tiles, preprocessing, cacheDir, reader, outDir)).collect()) {
          if (r.error() != null) {
            failures.put(r.slideId(), r.error());
          } else {
            patches += r.patches();
          }
        }
      } finally {
        jsc.clearJobGroup();
      }
    }
    Summary summary = new Summary(chosen.size(), skipped, patches, failures);
    console.println(summary.describe());
    return summary;
  }

  static Path partOf(Path out, String slideId) {
    return new Path(out, slideId + ".parquet");
  }

  private static Result cut(SlideJob job, Configuration conf, String tilesRoot,
      TilePreprocessor.Config pre, String cacheDir, org.tessera.wsi.ReaderKind reader, String out) {
    try {
      List<Group> rows = ParquetRows.readAll(conf, RangeCommit.partsOf(conf,
          new Path(new Path(tilesRoot), TileIndex.DIR), job.slideId()));
      List<Group> wanted = new ArrayList<>();
      for (Group g : rows) {
        if (job.chosen().containsKey(PseudoLabelStage.key(g.getLong("x", 0), g.getLong("y", 0)))) {
          wanted.add(g);
        }
      }
      if (wanted.size() != job.chosen().size()) {
        return new Result(job.slideId(), 0, (job.chosen().size() - wanted.size())
            + " pseudo-labelled tiles are not in the tile index: was it re-tiled? Start the "
            + "collaborate run afresh");
      }
      boolean needSlide = wanted.stream().anyMatch(g -> g.getFieldRepetitionCount("pixels") == 0);
      LocalSlides.Lease lease = needSlide ? LocalSlides.open(conf, job.path(), cacheDir, reader) : null;
      int size = pre.inputSize();
      StainNormalizer stain = pre.stainNormalizer();
      try {
        AtomicFiles.write(conf, partOf(new Path(out), job.slideId()), tmp -> {
          try (ParquetRows w = new ParquetRows(conf, tmp, SCHEMA)) {
            for (Group g : wanted) {
              long x = g.getLong("x", 0);
              long y = g.getLong("y", 0);
              int edge = g.getInteger("tile_size", 0);
              int[] rgb = TilePixels.read(g, lease);
              int[] px = edge == size ? rgb : Resampler.resize(rgb, edge, edge, size, size);
              if (stain != StainNormalizers.none()) {
                px = stain.normalize(px, size, size);
              }
              long key = PseudoLabelStage.key(x, y);
              int[] labelShard = job.chosen().get(key);
              w.write(w.newRow()
                  .append("slide_id", job.slideId())
                  .append("x", x)
                  .append("y", y)
                  .append("patch_class", labelShard[0])
                  .append("set", job.sets().get(key))
                  .append("shard", labelShard[1])
                  .append("size", size)
                  .append("rgb", Binary.fromConstantByteArray(PackedRgb.toRgbBytes(px))));
            }
          }
        });
      } finally {
        if (lease != null) {
          lease.close();
        }
      }
      return new Result(job.slideId(), wanted.size(), null);
    } catch (Exception | LinkageError e) {
      return new Result(job.slideId(), 0, Errors.oneLine(e));
    }
  }
}
