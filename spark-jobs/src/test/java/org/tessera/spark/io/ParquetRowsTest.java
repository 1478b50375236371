package org.tessera.spark.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.column.ColumnDescriptor;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.example.GroupReadSupport;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.metadata.ColumnChunkMetaData;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.io.api.Binary;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ParquetRowsTest {
  private static final int RAW_TILE_BYTES = 256 * 256 * 3;

  @TempDir Path dir;

  private static Group row(ParquetRows rows, int i, byte[] pixels) {
    Group g = rows.newRow().append("slide_id", "s").append("col", i).append("row", 0)
        .append("x", 256L * i).append("y", 0L).append("level", 0).append("size_at_level", 256)
        .append("tile_size", 256).append("target_mpp", 0.5).append("tissue_fraction", 1.0);
    if (pixels != null) {
      g.append("pixel_format", "raw").append("pixels", Binary.fromConstantByteArray(pixels));
    }
    return g;
  }

  private static int pages(ParquetFileReader reader, String column) throws IOException {
    int pages = 0;
    for (BlockMetaData block : reader.getFooter().getBlocks()) {
      for (ColumnChunkMetaData chunk : block.getColumns()) {
        if (chunk.getPath().toDotString().equals(column)) {
          pages += reader.readOffsetIndex(chunk).getPageCount();
        }
      }
    }
    return pages;
  }

  @Test
  void storedPixelsGoToPagesNearTheOneMegabyteTargetAndReadBack() throws IOException {
    Configuration conf = new Configuration();
    org.apache.hadoop.fs.Path file = new org.apache.hadoop.fs.Path(dir.resolve("t.parquet").toUri());
    Random rnd = new Random(3);
    byte[][] tiles = new byte[40][RAW_TILE_BYTES];
    try (ParquetRows rows = new ParquetRows(conf, file, TileIndex.SCHEMA)) {
      for (int i = 0; i < tiles.length; i++) {
        rnd.nextBytes(tiles[i]);
        rows.write(row(rows, i, tiles[i]));
      }
    }
    try (ParquetFileReader reader =
             ParquetFileReader.open(HadoopInputFile.fromPath(file, conf))) {
      // 40 rows of 192 KiB: about 5 rows a page; left at its defaults Parquet makes one page.
      int pages = pages(reader, "pixels");
      assertTrue(pages >= 6, "pixels in " + pages + " pages");
      for (ColumnDescriptor c : reader.getFooter().getFileMetaData().getSchema().getColumns()) {
        if (!c.getPath()[0].equals("pixels")) {
          assertEquals(1, pages(reader, c.getPath()[0]), c.getPath()[0]);
        }
      }
    }
    try (ParquetReader<Group> reader =
             ParquetReader.builder(new GroupReadSupport(), file).withConf(conf).build()) {
      for (int i = 0; i < tiles.length; i++) {
        Group g = reader.read();
        assertEquals(i, g.getInteger("col", 0));
        assertArrayEquals(tiles[i], g.getBinary("pixels", 0).getBytes(), "pixels of row " + i);
      }
      assertEquals(null, reader.read());
    }
  }

  @Test
  void narrowRowsKeepLargePages() throws IOException {
    Configuration conf = new Configuration();
    org.apache.hadoop.fs.Path file = new org.apache.hadoop.fs.Path(dir.resolve("n.parquet").toUri());
    try (ParquetRows rows = new ParquetRows(conf, file, TileIndex.SCHEMA)) {
      for (int i = 0; i < 50_000; i++) {
        rows.write(row(rows, i, null));
      }
    }
    try (ParquetFileReader reader =
             ParquetFileReader.open(HadoopInputFile.fromPath(file, conf))) {
      // Parquet's cap of 20,000 rows a page, not the size check, splits these.
      assertEquals(3, pages(reader, "x"));
    }
  }
}
