package org.tessera.spark.importer;

import static org.bytedeco.hdf5.global.hdf5.H5F_ACC_RDONLY;
import static org.bytedeco.hdf5.global.hdf5.H5T_FLOAT;
import static org.bytedeco.hdf5.global.hdf5.H5T_INTEGER;

import java.io.IOException;
import java.nio.file.Path;
import org.bytedeco.hdf5.Attribute;
import org.bytedeco.hdf5.DataSet;
import org.bytedeco.hdf5.DataSpace;
import org.bytedeco.hdf5.H5File;
import org.bytedeco.hdf5.H5Object;
import org.bytedeco.hdf5.PredType;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.tessera.core.Errors;

/**
 * CLAM-style feature files: one HDF5 file per slide with {@code features} [N, D] (any float type;
 * HDF5 converts to float32 on read, which is exact for float16 and float32) and {@code coords}
 * [N, 2] level-0 x, y (integers, or floats rounded to the nearest pixel). The level the tiles were
 * read at comes from a {@code patch_level} or {@code level} attribute of {@code coords} or of the
 * file, else 0. Reads are serialised: the HDF5 library is not thread-safe.
 */
final class H5Features {
  static final String FEATURES = "features";
  static final String COORDS = "coords";
  private static final String LAYOUT = "each slide's .h5 needs features [N,D] and coords [N,2]";

  static {
    // HDF5 prints its error stack to stderr on every failed call; failures reach the caller as
    // exceptions with a message, so the stack is noise.
    org.bytedeco.hdf5.Exception.dontPrint();
  }

  private H5Features() {}

  /** The feature dimension D of a file, read from its shape only. */
  static synchronized int dim(Path file) throws IOException {
    try (H5File h5 = open(file); DataSet ds = dataset(h5, file, FEATURES)) {
      return (int) shape(ds, file, FEATURES)[1];
    } catch (RuntimeException e) {
      throw unreadable(file, e);
    }
  }

  static synchronized ImportedBag read(Path file, String slideId) throws IOException {
    try (H5File h5 = open(file);
         DataSet feats = dataset(h5, file, FEATURES);
         DataSet coords = dataset(h5, file, COORDS)) {
      long[] fshape = shape(feats, file, FEATURES);
      long[] cshape = shape(coords, file, COORDS);
      if (cshape[1] != 2) {
        throw new IOException(file + ": coords has shape [" + cshape[0] + "," + cshape[1]
            + "], not [N,2]: store one x,y pair per instance");
      }
      if (fshape[0] != cshape[0]) {
        throw new IOException(file + ": features has " + fshape[0] + " rows but coords has "
            + cshape[0] + ": write one coordinate pair per feature vector");
      }
      int n = Math.toIntExact(fshape[0]);
      int dim = Math.toIntExact(fshape[1]);
      float[] features = new float[Math.multiplyExact(n, dim)];
      try (FloatPointer buf = new FloatPointer(features.length)) {
        feats.read(buf, PredType.NATIVE_FLOAT());
        buf.get(features);
      }
      long[] x = new long[n];
      long[] y = new long[n];
      readCoords(coords, file, n, x, y);
      int level = level(h5, coords);
      return new ImportedBag(slideId, file.toString(), x, y, level, features, dim);
    } catch (RuntimeException e) {
      throw unreadable(file, e);
    }
  }

  private static H5File open(Path file) {
    return new H5File(file.toString(), H5F_ACC_RDONLY());
  }

  private static DataSet dataset(H5File h5, Path file, String name) throws IOException {
    if (!h5.nameExists(name)) {
      throw new IOException(file + ": no " + name + " dataset: " + LAYOUT);
    }
    return h5.openDataSet(name);
  }

  private static long[] shape(DataSet ds, Path file, String name) throws IOException {
    try (DataSpace space = ds.getSpace()) {
      int rank = space.getSimpleExtentNdims();
      long[] dims = new long[Math.max(rank, 1)];
      space.getSimpleExtentDims(dims);
      if (rank != 2 || dims[1] < 1) {
        throw new IOException(file + ": " + name + " has " + rank + " dimensions, not 2 with at"
            + " least one column: " + LAYOUT);
      }
      return dims;
    }
  }

  private static void readCoords(DataSet coords, Path file, int n, long[] x, long[] y)
      throws IOException {
    int typeClass = coords.asAbstractDs().getTypeClass();
    if (typeClass == H5T_INTEGER) {
      try (LongPointer buf = new LongPointer(2L * n)) {
        coords.read(buf, PredType.NATIVE_INT64());
        for (int i = 0; i < n; i++) {
          x[i] = buf.get(2L * i);
          y[i] = buf.get(2L * i + 1);
        }
      }
    } else if (typeClass == H5T_FLOAT) {
      try (DoublePointer buf = new DoublePointer(2L * n)) {
        coords.read(buf, PredType.NATIVE_DOUBLE());
        for (int i = 0; i < n; i++) {
          double cx = buf.get(2L * i);
          double cy = buf.get(2L * i + 1);
          if (!Double.isFinite(cx) || !Double.isFinite(cy)) {
            throw new IOException(file + ": coords of instance " + i + " are not finite: store"
                + " level-0 pixel positions");
          }
          x[i] = Math.round(cx);
          y[i] = Math.round(cy);
        }
      }
    } else {
      throw new IOException(file + ": coords are neither integers nor floats: store level-0"
          + " pixel positions as numbers");
    }
  }

  private static int level(H5File h5, DataSet coords) throws IOException {
    for (H5Object holder : new H5Object[] {coords, h5}) {
      for (String name : new String[] {"patch_level", "level"}) {
        if (holder.attrExists(name)) {
          try (Attribute a = holder.openAttribute(name);
               IntPointer v = new IntPointer(1)) {
            a.read(PredType.NATIVE_INT(), v);
            return v.get();
          }
        }
      }
    }
    return 0;
  }

  private static IOException unreadable(Path file, RuntimeException e) {
    return new IOException(file + ": not a readable HDF5 feature file (" + Errors.oneLine(e)
        + "): " + LAYOUT, e);
  }
}
