package org.tessera.spark.embed;

import java.io.IOException;
import java.io.Serializable;
import java.util.List;
import java.util.OptionalInt;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.example.data.Group;
import org.apache.spark.TaskContext;
import org.tessera.core.Errors;
import org.tessera.core.image.TilePreprocessor;
import org.tessera.core.nn.OnnxDevice;
import org.tessera.core.nn.PatchEncoder;
import org.tessera.spark.io.AtomicFiles;
import org.tessera.spark.io.FeatureTable;
import org.tessera.spark.io.ParquetRows;
import org.tessera.spark.io.RangeCommit;
import org.tessera.spark.io.TileIndex;
import org.tessera.spark.tile.LocalSlides;
import org.tessera.spark.tile.StageProgress;
import org.tessera.spark.tile.TilePixels;

/** What executors do for the embed stage: one range of one slide's tiles per task. */
final class EmbedTasks {
  private EmbedTasks() {}

  /** What a range task reports: tiles embedded, where, or why it failed. */
  record Done(String slideId, int part, int tiles, String device, long millis, String error)
      implements Serializable {
    private static final long serialVersionUID = 1L;

    boolean ok() {
      return error == null;
    }
  }

  /**
   * Embeds one range of a slide's tiles (in tile-index order) into its work part. A part already
   * there (an earlier run's, or another attempt's) is the same rows and is kept; a part is only
   * ever published if absent, so no attempt removes what another finished.
   */
  static Done embed(RangeCommit.Part r, EmbedSettings s, TilePreprocessor.Config preprocessing,
      Configuration conf, String tilesRoot, String featRoot) {
    Path featRootPath = new Path(featRoot);
    Path part = RangeCommit.workPart(featRootPath, r);
    TaskContext task = TaskContext.get();
    OptionalInt gpu = task == null ? OptionalInt.empty()
        : GpuAssignment.assigned(task.resourcesJMap());
    // ONNX Runtime picks its device per session (one per GPU of the executor); ND4J binds the
    // thread.
    OnnxDevice onnxDevice = EncoderPool.isOnnx(s)
        ? GpuAssignment.onnxDevice(task == null ? java.util.Map.of() : task.resourcesJMap(),
            task == null ? 1 : task.cpus())
        : null;
    String device = onnxDevice != null ? onnxDevice.describe() : GpuAssignment.bind(gpu);
    long t0 = System.currentTimeMillis();
    try {
      PatchEncoder encoder = onnxDevice != null ? EncoderPool.encoder(s, onnxDevice)
          : EncoderPool.encoder(s);
      if (part.getFileSystem(conf).exists(part)) {
        return new Done(r.slideId(), r.index(), r.rows(), device, 0, null);
      }
      TilePreprocessor pre = new TilePreprocessor(preprocessing);
      List<Group> tiles = readTiles(conf, new Path(new Path(tilesRoot), TileIndex.DIR),
          r.slideId(), r.start(), r.end());
      embedInto(conf, part, r, s, encoder, pre, tiles);
      return new Done(r.slideId(), r.index(), tiles.size(), device,
          System.currentTimeMillis() - t0, null);
    } catch (Exception | LinkageError e) {
      return new Done(r.slideId(), r.index(), 0, device, System.currentTimeMillis() - t0,
          "tiles " + r.start() + ".." + r.end() + ": " + Errors.oneLine(e));
    }
  }

  private static void embedInto(Configuration conf, Path part, RangeCommit.Part r, EmbedSettings s,
      PatchEncoder encoder, TilePreprocessor pre, List<Group> tiles) throws IOException {
    int size = encoder.inputSize();
    int dim = encoder.featureDim();
    boolean needSlide = tiles.stream().anyMatch(g -> g.getFieldRepetitionCount("pixels") == 0);
    LocalSlides.Lease lease = needSlide ? LocalSlides.open(conf, r.path(), s.cacheDir(), s.reader()) : null;
    boolean failed = false;
    try {
      AtomicFiles.writeIfAbsent(conf, part, tmp -> {
        try (ParquetRows out = new ParquetRows(conf, tmp, FeatureTable.SCHEMA)) {
          float[] input = new float[s.batch() * 3 * size * size];
          for (int from = 0; from < tiles.size(); from += s.batch()) {
            int n = Math.min(s.batch(), tiles.size() - from);
            for (int i = 0; i < n; i++) {
              Group t = tiles.get(from + i);
              int[] rgb = TilePixels.read(t, lease);
              int edge = t.getInteger("tile_size", 0);
              pre.toChw(rgb, edge, edge, input, i);
            }
            float[] features;
            if (encoder.concurrent()) {
              features = encoder.embed(input, n);
            } else {
              synchronized (encoder) {
                features = encoder.embed(input, n);
              }
            }
            for (int i = 0; i < n; i++) {
              Group t = tiles.get(from + i);
              Group row = out.newRow()
                  .append("slide_id", r.slideId())
                  .append("col", t.getInteger("col", 0))
                  .append("row", t.getInteger("row", 0))
                  .append("x", t.getLong("x", 0))
                  .append("y", t.getLong("y", 0))
                  .append("level", t.getInteger("level", 0));
              FeatureTable.putFeatures(row, features, i * dim, dim);
              out.write(row);
            }
            StageProgress.tick(n);
          }
        }
      });
    } catch (IOException | RuntimeException e) {
      failed = true;
      throw e;
    } finally {
      if (lease != null && failed) {
        lease.discard();
      } else if (lease != null) {
        lease.close();
      }
    }
  }

  /** Rows {@code [start, end)} of a slide's tile index, in committed-part then row order. */
  static List<Group> readTiles(Configuration conf, Path tilesDir, String slideId, int start,
      int end) throws IOException {
    List<Group> rows = ParquetRows.readRange(conf, RangeCommit.partsOf(conf, tilesDir, slideId),
        start, end);
    if (rows.size() != end - start) {
      throw new IOException("tile index of " + slideId + " in " + tilesDir + " has fewer rows"
          + " than its slide row says: re-run tessera tile with --overwrite");
    }
    return rows;
  }


}
