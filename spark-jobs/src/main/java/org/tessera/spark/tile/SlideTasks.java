package org.tessera.spark.tile;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Optional;
import java.util.Queue;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.io.api.Binary;
import org.tessera.core.Errors;
import org.tessera.spark.io.AtomicFiles;
import org.tessera.spark.io.ParquetRows;
import org.tessera.spark.io.RangeCommit;
import org.tessera.spark.io.SlideTable;
import org.tessera.spark.io.TileIndex;
import org.tessera.wsi.SlideMetadata;
import org.tessera.core.image.PackedRgb;
import org.tessera.wsi.region.TileRequest;
import org.tessera.wsi.tiling.SlidePlan;
import org.tessera.wsi.tiling.SlidePlanner;

/**
 * What executors do for the tile stage. Every method is self-contained (reads its inputs from
 * storage, writes its outputs with write-then-rename), so a task can be retried or re-run by a
 * later job and produce the same files.
 */
final class SlideTasks {
  private SlideTasks() {}

  /**
   * Outcome of planning one slide, sent back to the driver.
   *
   * @param key       what the slide's stored-pixel ranges are keyed by ({@link RangeCommit#key}:
   *                  the file and its plan); null when the slide needs no ranges
   * @param committed whether the slide row is already written (tiles without pixels, failures)
   */
  record Planned(SlideTable.Row row, String key, boolean committed) implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  /** What storing one range's pixels did: the tiles it holds, or why it could not. */
  record Stored(String slideId, int index, int tiles, String error) implements Serializable {
    private static final long serialVersionUID = 1L;

    boolean ok() {
      return error == null;
    }
  }

  /**
   * Plans one slide: tissue, grid, QC image. Without stored pixels the slide is finished here: its
   * tile file, then its slide row, are committed. With stored pixels the tile coordinates go to a
   * work file and the driver commits the slide once its pixel ranges are written.
   *
   * <p>The driver removed this slide's row, tiles and QC image before the job started, so every
   * file written here is published only if absent: another attempt of this task (a retry, a
   * speculative copy) that got there first has written the same content, and what it committed
   * stays committed whatever happens to this attempt.
   */
  static Planned plan(SlideInput in, TileSettings s, Configuration conf, TileLayout out) {
    long t0 = System.currentTimeMillis();
    try {
      Optional<SlideTable.Row> earlier = SlideTable.read(conf, out.slides(), in.slideId());
      if (earlier.isPresent()) {
        return new Planned(earlier.get(), null, true);
      }
      SlidePlan plan;
      BufferedImage qcImage;
      String reader;
      try (LocalSlides.Lease lease = LocalSlides.open(conf, in.path(), s.cacheDir(), s.reader())) {
        try {
          reader = org.tessera.wsi.SlideReaders.implementation(lease.reader());
          plan = SlidePlanner.plan(lease.reader(), s.tiling());
          qcImage = SlidePlanner.qcImage(lease.reader(), plan);
        } catch (IOException | RuntimeException e) {
          lease.discard();
          throw e;
        }
      }
      Path qc = out.qcPath(in.slideId());
      AtomicFiles.writeIfAbsent(conf, qc, tmp -> {
        try (var o = tmp.getFileSystem(conf).create(tmp, true)) {
          ImageIO.write(qcImage, "png", o);
        }
      });

      String key = planKey(conf, in, plan);
      Path indexFile = s.storePixels() ? out.planFile(in.slideId(), key)
          : RangeCommit.partPath(out.tiles(), in.slideId(), 0);
      AtomicFiles.writeIfAbsent(conf, indexFile, tmp -> {
        try (ParquetRows rows = new ParquetRows(conf, tmp, TileIndex.SCHEMA)) {
          for (int i = 0; i < plan.tileCount(); i++) {
            rows.write(tileRow(rows, in.slideId(), plan, i));
          }
        }
      });
      SlideTable.Row row = okRow(in, plan, qc, reader, System.currentTimeMillis() - t0);
      if (!s.storePixels()) {
        return new Planned(SlideTable.commit(conf, out.slides(), row), null, true);
      }
      return new Planned(row, key, false);
    } catch (Exception | LinkageError e) {
      SlideTable.Row row = SlideTable.Row.failed(in.slideId(), in.path(), Errors.oneLine(e),
          System.currentTimeMillis() - t0, Instant.now().toString());
      try {
        return new Planned(SlideTable.commit(conf, out.slides(), row), null, true);
      } catch (IOException writeFailure) {
        throw new IllegalStateException("cannot record failure of slide " + in.slideId() + " in "
            + out.slides() + ": " + writeFailure.getMessage(), writeFailure);
      }
    }
  }

  /**
   * What a slide's tiles are made from: its file (path, size, modification time) and the planned
   * tiles themselves. Pixel ranges stored under another key are never reused.
   */
  private static String planKey(Configuration conf, SlideInput in, SlidePlan plan)
      throws IOException {
    Path p = new Path(in.path());
    FileStatus st = p.getFileSystem(conf).getFileStatus(p);
    long h = 1125899906842597L;
    for (int i = 0; i < plan.tileCount(); i++) {
      var t = plan.tile(i);
      h = 31 * (31 * (31 * (31 * h + t.level()) + t.x()) + t.y()) + t.sizeAtLevel();
      h = 31 * h + t.outputSize();
    }
    return RangeCommit.key(in.path(), st.getLen(), st.getModificationTime(), plan.tileCount(),
        h);
  }

  /**
   * Reads and stores the pixels of one range of a planned slide; a range already stored (by an
   * earlier run or another attempt) is left as it is. A range that cannot be read is reported,
   * not thrown: it fails its slide, not the job.
   */
  static Stored readPixels(RangeCommit.Part r, TileSettings s, Configuration conf,
      TileLayout out) {
    try {
      Path part = RangeCommit.workPart(new Path(out.root()), r);
      if (part.getFileSystem(conf).exists(part)) {
        return new Stored(r.slideId(), r.index(), r.rows(), null);
      }
      Queue<Group> planned = new ArrayDeque<>(ParquetRows.readRange(conf,
          List.of(out.planFile(r.slideId(), r.key())), r.start(), r.end()));
      if (planned.size() != r.rows()) {
        throw new IOException("the stored plan holds " + planned.size() + " of tiles " + r.start()
            + ".." + r.end());
      }
      try (LocalSlides.Lease lease = LocalSlides.open(conf, r.path(), s.cacheDir(), s.reader())) {
        try {
          AtomicFiles.writeIfAbsent(conf, part, tmp -> {
            try (ParquetRows rows = new ParquetRows(conf, tmp, TileIndex.SCHEMA)) {
              // Rows leave the queue as they are written: a row holds its tile's pixels, and a
              // range's worth of them kept reachable is hundreds of MB for the GC to copy.
              Group g;
              while ((g = planned.poll()) != null) {
                TileRequest tile = TileRequest.of(
                    g.getInteger("level", 0), g.getLong("x", 0), g.getLong("y", 0),
                    g.getInteger("size_at_level", 0), g.getInteger("tile_size", 0));
                int[] rgb = lease.reader().readTilePixels(tile);
                g.append("pixel_format", s.pixelFormat()).append("pixels",
                    Binary.fromConstantByteArray(encode(rgb, tile.outputSize(), s)));
                rows.write(g);
              }
            }
          });
        } catch (IOException | RuntimeException e) {
          lease.discard();
          throw e;
        }
      }
      return new Stored(r.slideId(), r.index(), r.rows(), null);
    } catch (Exception | LinkageError e) {
      return new Stored(r.slideId(), r.index(), 0, "cannot read tiles " + r.start() + ".."
          + r.end() + " of " + r.path() + ": " + Errors.oneLine(e));
    }
  }

  private static Group tileRow(ParquetRows rows, String slideId, SlidePlan plan, int i) {
    var t = plan.tile(i);
    return rows.newRow()
        .append("slide_id", slideId)
        .append("col", plan.cols()[i])
        .append("row", plan.rows()[i])
        .append("x", t.x())
        .append("y", t.y())
        .append("level", t.level())
        .append("size_at_level", t.sizeAtLevel())
        .append("tile_size", t.outputSize())
        .append("target_mpp", plan.grid().targetMpp())
        .append("tissue_fraction", plan.tissueFraction()[i]);
  }

  private static SlideTable.Row okRow(SlideInput in, SlidePlan plan, Path qc, String reader,
      long elapsedMs) {
    SlideMetadata m = plan.metadata();
    var grid = plan.grid();
    return new SlideTable.Row(in.slideId(), in.path(), SlideTable.OK, null, m.vendor(),
        m.width(), m.height(), m.levelCount(), m.mpp().orElse(Double.NaN),
        plan.mppAssumed() ? "assumed" : "metadata", m.objectivePower().orElse(Double.NaN),
        grid.level(), grid.sizeAtLevel(), grid.tileSize(), grid.targetMpp(), plan.tileCount(),
        plan.mask().tissueFraction(), qc.toString(), elapsedMs, Instant.now().toString(),
        reader);
  }

  /** A tile's packed 0xRRGGBB pixels ({@code size}² of them) in the stored pixel format. */
  static byte[] encode(int[] rgb, int size, TileSettings s) throws IOException {
    return switch (s.pixelFormat()) {
      case "raw" -> PackedRgb.toRgbBytes(rgb);
      case "png" -> png(PackedRgb.image(rgb, size, size));
      default -> jpeg(PackedRgb.image(rgb, size, size), s.jpegQuality());
    };
  }

  private static byte[] png(BufferedImage tile) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ImageIO.write(tile, "png", bytes);
    return bytes.toByteArray();
  }

  private static byte[] jpeg(BufferedImage tile, int quality) throws IOException {
    ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (MemoryCacheImageOutputStream ios = new MemoryCacheImageOutputStream(bytes)) {
      writer.setOutput(ios);
      ImageWriteParam p = writer.getDefaultWriteParam();
      p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
      p.setCompressionQuality(quality / 100f);
      writer.write(null, new IIOImage(tile, null, null), p);
    } finally {
      writer.dispose();
    }
    return bytes.toByteArray();
  }
}
