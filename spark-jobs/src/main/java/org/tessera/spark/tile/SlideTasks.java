package org.tessera.spark.tile;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Queue;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import org.apache.hadoop.conf.Configuration;
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

  /** Outcome of planning one slide, sent back to the driver. */
  record Planned(SlideTable.Row row, boolean committed) implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  /** A range of a slide's planned tiles whose pixels one task reads. */
  record Range(String slideId, String path, int part, int parts, int start, int end)
      implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  /**
   * Plans one slide: tissue, grid, QC image. Without stored pixels the slide is finished here: its
   * tile file, then its slide row, are committed. With stored pixels the tile coordinates go to a
   * work file and the driver commits the slide once its pixel ranges are written.
   */
  static Planned plan(SlideInput in, TileSettings s, Configuration conf, TileLayout out) {
    long t0 = System.currentTimeMillis();
    try {
      SlideTable.delete(conf, out.slides(), in.slideId());
      RangeCommit.deleteSlide(conf, out.tiles(), in.slideId());
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
      AtomicFiles.writeStream(conf, qc, o -> ImageIO.write(qcImage, "png", o));

      Path indexFile = s.storePixels() ? out.planFile(in.slideId())
          : RangeCommit.partPath(out.tiles(), in.slideId(), 0);
      AtomicFiles.write(conf, indexFile, tmp -> {
        try (ParquetRows rows = new ParquetRows(conf, tmp, TileIndex.SCHEMA)) {
          for (int i = 0; i < plan.tileCount(); i++) {
            rows.write(tileRow(rows, in.slideId(), plan, i));
          }
        }
      });
      SlideTable.Row row = okRow(in, plan, qc, reader, System.currentTimeMillis() - t0);
      if (!s.storePixels()) {
        SlideTable.write(conf, out.slides(), row);
        return new Planned(row, true);
      }
      return new Planned(row, false);
    } catch (Exception | LinkageError e) {
      SlideTable.Row row = SlideTable.Row.failed(in.slideId(), in.path(), Errors.oneLine(e),
          System.currentTimeMillis() - t0, Instant.now().toString());
      try {
        SlideTable.write(conf, out.slides(), row);
      } catch (IOException writeFailure) {
        throw new IllegalStateException("cannot record failure of slide " + in.slideId() + " in "
            + out.slides() + ": " + writeFailure.getMessage(), writeFailure);
      }
      return new Planned(row, true);
    }
  }

  /** Reads and stores the pixels of one range; a range already written is left as it is. */
  static int readPixels(Range r, TileSettings s, Configuration conf, TileLayout out)
      throws IOException {
    Path part = out.workPart(r.slideId(), r.part());
    if (part.getFileSystem(conf).exists(part)) {
      return 0;
    }
    Queue<Group> planned = new ArrayDeque<>(ParquetRows.readRange(conf,
        List.of(out.planFile(r.slideId())), r.start(), r.end()));
    int count = planned.size();
    try (LocalSlides.Lease lease = LocalSlides.open(conf, r.path(), s.cacheDir(), s.reader())) {
      try {
        AtomicFiles.write(conf, part, tmp -> {
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
        throw new IOException("slide " + r.slideId() + " (" + r.path() + "): cannot read tiles "
            + r.start() + ".." + r.end() + ": " + e.getMessage(), e);
      }
    }
    return count;
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
