package org.tessera.core.nn;

import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A {@link PatchEncoder} over a DL4J graph cut at one layer: the layer's activations, global
 * average pooled when they are feature maps. The graph is rewritten once at construction
 * ({@link InferenceGraphs#prepare}) and then only run, in inference mode with DL4J's workspaces,
 * so a batch allocates nothing but its input and output once the workspaces have grown.
 *
 * <p>Batches run on one thread the encoder owns, whichever thread calls {@link #embed}: DL4J
 * workspaces belong to a thread, so Spark task threads taking turns would each keep a full set
 * (over 300 MB for resnet50-trunc at 32 tiles) and each pay for growing it. That thread uses the
 * ND4J device of the thread that loaded the encoder. {@link #close} frees the graph and the
 * workspaces on that thread.
 */
final class GraphEncoder implements PatchEncoder {

  private final ComputationGraph graph;
  /** The same graph run channels-last through oneDNN; null where it does not apply. */
  private final ChannelsLastGraph channelsLast;
  private final EncoderSpec spec;
  private final CNN2DFormat inputFormat;
  /** Axes averaged to turn the cut layer's feature maps into a vector; null for a vector. */
  private final int[] poolAxes;
  private final ExecutorService worker;

  private GraphEncoder(ComputationGraph graph, ChannelsLastGraph channelsLast, EncoderSpec spec,
      CNN2DFormat inputFormat, int[] poolAxes) {
    this.graph = graph;
    this.channelsLast = channelsLast;
    this.spec = spec;
    this.inputFormat = inputFormat;
    this.poolAxes = poolAxes;
    // The graph's parameters live on the device of the thread that built it (CUDA backends bind
    // devices per thread); the worker runs there too.
    Integer device = Nd4j.getAffinityManager().getDeviceForCurrentThread();
    this.worker = Executors.newSingleThreadExecutor(task -> {
      Thread t = new Thread(() -> {
        Nd4j.getAffinityManager().unsafeSetDevice(device);
        task.run();
      }, "tessera-encoder-" + spec.name());
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Cuts {@code source} at {@code cutLayer} and checks the result with one probe tile, so a wrong
   * layer or input size fails here rather than in the first task of a job. {@code source} is not
   * used afterwards and may be closed.
   *
   * @param label        the model in error messages (a file, or an architecture name)
   * @param inputFormat  the image layout the network's input takes (Keras models are NHWC)
   * @param specCutLayer the cut layer as recorded in the spec
   * @param half         run in 16-bit floats
   */
  static GraphEncoder cut(ComputationGraph source, String cutLayer, int inputSize,
      CNN2DFormat inputFormat, String name, String weightsId, String specCutLayer, String label,
      boolean half) {
    ComputationGraph prepared = InferenceGraphs.prepare(source, cutLayer, label);
    ComputationGraph graph = prepared;
    if (half) {
      // Batch norms are folded into the convolutions before the cast, so the folded weights are
      // rounded once rather than the batch-norm statistics losing precision separately.
      graph = prepared.convertDataType(DataType.HALF);
      prepared.close();
    }
    GraphEncoder encoder = null;
    try {
      InputType in = InputType.convolutional(inputSize, inputSize, 3, inputFormat);
      Map<String, InputType> types;
      try {
        types = graph.getConfiguration().getLayerActivationTypes(false, false, in);
      } catch (RuntimeException e) {
        throw new IllegalArgumentException(label + ": cannot run on " + inputSize + "x"
            + inputSize + " RGB input up to layer '" + cutLayer + "' (" + e.getMessage()
            + "); check the input size", e);
      }
      InputType out = types.get(cutLayer);
      int[] poolAxes;
      long dim;
      if (out instanceof InputType.InputTypeConvolutional c) {
        poolAxes = c.getFormat() == CNN2DFormat.NCHW ? new int[] {2, 3} : new int[] {1, 2};
        dim = c.getChannels();
      } else if (out instanceof InputType.InputTypeFeedForward f) {
        poolAxes = null;
        dim = f.getSize();
      } else {
        throw new IllegalArgumentException(label + ": layer '" + cutLayer + "' outputs " + out
            + "; a patch encoder needs feature maps or a vector");
      }
      EncoderSpec spec = new EncoderSpec(name, weightsId, specCutLayer, inputSize, (int) dim,
          half ? "fp16" : "fp32");
      ChannelsLastGraph channelsLast = ChannelsLastGraph.available()
          ? ChannelsLastGraph.compile(graph, cutLayer).orElse(null) : null;
      encoder = new GraphEncoder(graph, channelsLast, spec, inputFormat, poolAxes);
      INDArray probe = encoder.embed(Nd4j.zeros(DataType.FLOAT, 1, 3, inputSize, inputSize));
      if (!Arrays.equals(probe.shape(), new long[] {1, dim})) {
        throw new IllegalArgumentException(label + ": layer '" + cutLayer + "' gave shape "
            + Arrays.toString(probe.shape()) + " for one tile, expected [1, " + dim + "]");
      }
      return encoder;
    } catch (RuntimeException e) {
      if (encoder != null) {
        encoder.close();
      } else {
        graph.close();
      }
      throw e;
    }
  }

  @Override
  public EncoderSpec spec() {
    return spec;
  }

  @Override
  public INDArray embed(INDArray batch) {
    int s = spec.inputSize();
    long[] shape = batch.shape();
    if (batch.rank() != 4 || shape[1] != 3 || shape[2] != s || shape[3] != s
        || batch.dataType() != DataType.FLOAT) {
      throw new IllegalArgumentException("encoder " + spec.name() + " takes FLOAT [B, 3, " + s
          + ", " + s + "], got " + batch.dataType() + " " + Arrays.toString(shape));
    }
    return onWorker(() -> forward(batch));
  }

  /** Whether batches run channels-last through oneDNN ({@link ChannelsLastGraph}). */
  boolean channelsLast() {
    return channelsLast != null;
  }

  private INDArray forward(INDArray batch) {
    if (channelsLast != null) {
      return channelsLast.features(batch);
    }
    INDArray input = inputFormat == CNN2DFormat.NHWC ? batch.permute(0, 2, 3, 1).dup('c') : batch;
    DataType type = graph.getConfiguration().getDataType();
    if (type != DataType.FLOAT) {
      INDArray cast = input.castTo(type);
      release(input, batch);
      input = cast;
    }
    INDArray out = graph.outputSingle(false, input);
    release(input, batch);
    INDArray features = poolAxes == null ? out : out.mean(poolAxes);
    if (features.dataType() != DataType.FLOAT) {
      INDArray cast = features.castTo(DataType.FLOAT);
      release(features, null);
      features = cast;
    }
    if (features != out) {
      release(out, null);
    }
    return features;
  }

  /** Frees an intermediate array now rather than at garbage collection; never the caller's. */
  private static void release(INDArray array, INDArray callers) {
    if (array != callers && array.closeable()) {
      array.close();
    }
  }

  @Override
  public void close() {
    try {
      onWorker(() -> {
        if (channelsLast != null) {
          channelsLast.close();
        }
        graph.close();
        Nd4j.getWorkspaceManager().destroyAllWorkspacesForCurrentThread();
        return null;
      });
    } finally {
      worker.shutdown();
    }
  }

  private <T> T onWorker(Callable<T> work) {
    Future<T> result = worker.submit(work);
    try {
      return result.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while encoder " + spec.name() + " ran", e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      if (e.getCause() instanceof Error err) {
        throw err;
      }
      throw new IllegalStateException(e.getCause());
    }
  }
}
