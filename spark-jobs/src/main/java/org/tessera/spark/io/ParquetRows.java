package org.tessera.spark.io;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.column.ColumnDescriptor;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.hadoop.example.GroupReadSupport;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType;

/**
 * A Parquet file written row by row from an executor, without a SparkSession: executors commit
 * per-slide outputs themselves, so a slide's rows land when that slide is done rather than when the
 * whole job is.
 */
public final class ParquetRows implements AutoCloseable {
  private final ParquetWriter<Group> writer;
  private final SimpleGroupFactory factory;

  public ParquetRows(Configuration conf, Path path, MessageType schema) throws IOException {
    this.factory = new SimpleGroupFactory(schema);
    ExampleParquetWriter.Builder builder = ExampleParquetWriter.builder(path);
    for (ColumnDescriptor c : schema.getColumns()) {
      PrimitiveType.PrimitiveTypeName t = c.getPrimitiveType().getPrimitiveTypeName();
      if (t == PrimitiveType.PrimitiveTypeName.FLOAT
          || t == PrimitiveType.PrimitiveTypeName.DOUBLE) {
        // Measurements (features, scores) rarely repeat: a dictionary attempt hashes every value
        // until it gives up, about 5% of the embed stage's CPU time on 1024-d features.
        builder = builder.withDictionaryEncoding(String.join(".", c.getPath()), false);
      }
    }
    this.writer = builder
        .withConf(conf)
        .withType(schema)
        .withCompressionCodec(CompressionCodecName.SNAPPY)
        .withWriteMode(ParquetFileWriter.Mode.OVERWRITE)
        // Parquet first checks page sizes after 100 rows, so with stored pixels (~200 KB a row)
        // pages reach ~20 MB instead of the 1 MB target, and buffering, copying and compressing
        // pages that large costs more than writing the rows. Checking from the first row keeps
        // such pages near 1 MB; pages of narrow rows come out as before.
        .withMinRowCountForPageSizeCheck(1)
        .build();
  }

  public Group newRow() {
    return factory.newGroup();
  }

  public void write(Group row) throws IOException {
    writer.write(row);
  }

  @Override
  public void close() throws IOException {
    writer.close();
  }

  /** Every row of {@code files}, in file then row order. */
  public static List<Group> readAll(Configuration conf, List<Path> files) throws IOException {
    List<Group> rows = new ArrayList<>();
    for (Path file : files) {
      try (ParquetReader<Group> reader =
               ParquetReader.builder(new GroupReadSupport(), file).withConf(conf).build()) {
        Group g;
        while ((g = reader.read()) != null) {
          rows.add(g);
        }
      }
    }
    return rows;
  }

  /**
   * Rows {@code [start, end)} of the concatenation of {@code files}, in file then row order
   * (fewer when the files hold fewer rows). Reading stops at {@code end}.
   */
  public static List<Group> readRange(Configuration conf, List<Path> files, int start, int end)
      throws IOException {
    List<Group> rows = new ArrayList<>(Math.max(0, end - start));
    int i = 0;
    for (Path file : files) {
      if (i >= end) {
        break;
      }
      try (ParquetReader<Group> reader =
               ParquetReader.builder(new GroupReadSupport(), file).withConf(conf).build()) {
        Group g;
        while (i < end && (g = reader.read()) != null) {
          if (i >= start) {
            rows.add(g);
          }
          i++;
        }
      }
    }
    return rows;
  }
}
