package org.tessera.spark.train;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.tessera.core.train.TrainState;
import org.tessera.spark.io.AtomicFiles;

/**
 * Training states in {@code RUN/checkpoints/step-<global step>.ckpt}, each written whole or not
 * at all (write, then rename). A resume takes the latest; the two newest are kept. The format is
 * a small versioned binary record: position, scalars, then named float arrays (parameters,
 * best parameters, optimizer buffers), big-endian as {@link DataOutputStream} writes them.
 */
final class Checkpoints {
  static final String DIR = "checkpoints";
  private static final int MAGIC = 0x54534350; // "TSCP"
  private static final int VERSION = 1;
  private static final int KEEP = 2;

  private final Configuration conf;
  private final Path dir;

  Checkpoints(Configuration conf, Path runDir) {
    this.conf = conf;
    this.dir = new Path(runDir, DIR);
  }

  void save(TrainState s) throws IOException {
    Path file = new Path(dir, String.format("step-%09d.ckpt", s.globalStep()));
    AtomicFiles.writeStream(conf, file, raw -> {
      DataOutputStream out = new DataOutputStream(new BufferedOutputStream(raw, 1 << 16));
      out.writeInt(MAGIC);
      out.writeInt(VERSION);
      out.writeInt(s.epoch());
      out.writeInt(s.step());
      out.writeLong(s.globalStep());
      out.writeLong(s.optimizerSteps());
      out.writeDouble(s.bestValLoss());
      out.writeInt(s.bestEpoch());
      out.writeInt(s.badEpochs());
      out.writeDouble(s.epochLossSum());
      out.writeLong(s.epochBags());
      out.writeBoolean(s.finished());
      writeArray(out, s.params());
      writeArray(out, s.bestParams());
      Map<String, float[]> opt = new TreeMap<>(s.optimizerState());
      out.writeInt(opt.size());
      for (Map.Entry<String, float[]> e : opt.entrySet()) {
        out.writeUTF(e.getKey());
        writeArray(out, e.getValue());
      }
      out.flush();
    });
    prune();
  }

  /** The latest state, if any checkpoint exists. */
  Optional<TrainState> latest() throws IOException {
    List<Path> files = list();
    if (files.isEmpty()) {
      return Optional.empty();
    }
    Path file = files.get(files.size() - 1);
    FileSystem fs = file.getFileSystem(conf);
    try (DataInputStream in = new DataInputStream(
        new BufferedInputStream(fs.open(file), 1 << 16))) {
      if (in.readInt() != MAGIC || in.readInt() != VERSION) {
        throw new IOException(file + " is not a checkpoint of this version: delete it or "
            + "train with --overwrite");
      }
      int epoch = in.readInt();
      int step = in.readInt();
      long globalStep = in.readLong();
      long optimizerSteps = in.readLong();
      double bestValLoss = in.readDouble();
      int bestEpoch = in.readInt();
      int badEpochs = in.readInt();
      double lossSum = in.readDouble();
      long bags = in.readLong();
      boolean finished = in.readBoolean();
      float[] params = readArray(in);
      float[] best = readArray(in);
      Map<String, float[]> opt = new TreeMap<>();
      int n = in.readInt();
      for (int i = 0; i < n; i++) {
        opt.put(in.readUTF(), readArray(in));
      }
      return Optional.of(new TrainState(epoch, step, globalStep, params, opt, optimizerSteps,
          best, bestValLoss, bestEpoch, badEpochs, lossSum, bags, finished));
    }
  }

  private List<Path> list() throws IOException {
    FileSystem fs = dir.getFileSystem(conf);
    if (!fs.exists(dir)) {
      return List.of();
    }
    List<Path> files = new ArrayList<>();
    for (FileStatus st : fs.listStatus(dir)) {
      if (st.isFile() && st.getPath().getName().matches("step-\\d{9}\\.ckpt")) {
        files.add(st.getPath());
      }
    }
    files.sort(Comparator.comparing(Path::getName));
    return files;
  }

  private void prune() throws IOException {
    List<Path> files = list();
    FileSystem fs = dir.getFileSystem(conf);
    for (Path old : files.subList(0, Math.max(0, files.size() - KEEP))) {
      fs.delete(old, false);
    }
  }

  private static void writeArray(DataOutputStream out, float[] a) throws IOException {
    out.writeInt(a.length);
    for (float v : a) {
      out.writeFloat(v);
    }
  }

  private static float[] readArray(DataInputStream in) throws IOException {
    float[] a = new float[in.readInt()];
    for (int i = 0; i < a.length; i++) {
      a[i] = in.readFloat();
    }
    return a;
  }
}
