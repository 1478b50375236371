package org.tessera.core.nn;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.providers.OrtCUDAProviderOptions;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Where an ONNX Runtime session runs: the CPU with {@code threads} intra-op threads, or the CUDA
 * execution provider on one GPU (the CPU then only runs the operators CUDA lacks). An executor
 * keeps one session per device, so each task runs on the GPU Spark assigned it.
 *
 * @param gpu     CUDA device index, empty for the CPU
 * @param threads intra-op threads ({@code spark.task.cpus} on executors)
 * @param note    why a GPU that was assigned is not used, or empty
 */
public record OnnxDevice(OptionalInt gpu, int threads, String note) {

  public OnnxDevice {
    if (threads < 1) {
      throw new IllegalArgumentException("ONNX Runtime threads must be >= 1, got " + threads
          + " (spark.task.cpus)");
    }
    if (gpu.isPresent() && gpu.getAsInt() < 0) {
      throw new IllegalArgumentException("GPU index must be >= 0, got " + gpu.getAsInt());
    }
  }

  /** The CPU with this many intra-op threads. */
  public static OnnxDevice cpu(int threads) {
    return new OnnxDevice(OptionalInt.empty(), threads, "");
  }

  /**
   * The device for a task: the GPU Spark assigned it when this build's ONNX Runtime has the CUDA
   * provider, else the CPU (with a note when a GPU was assigned but cannot be used).
   *
   * @param assigned  first GPU address of the task's resources, if any
   * @param taskCpus  {@code spark.task.cpus}
   * @param providers the execution providers this ONNX Runtime build offers
   */
  public static OnnxDevice forTask(OptionalInt assigned, int taskCpus, Set<OrtProvider> providers) {
    if (assigned.isEmpty()) {
      return cpu(taskCpus);
    }
    if (!providers.contains(OrtProvider.CUDA)) {
      return new OnnxDevice(OptionalInt.empty(), taskCpus, "gpu " + assigned.getAsInt()
          + " assigned, but this build's ONNX Runtime has no CUDA provider; build with -Pgpu");
    }
    return new OnnxDevice(assigned, taskCpus, "");
  }

  /** Identity of the session this device needs: {@code cuda:1}, {@code cpu:4}. */
  public String key() {
    return gpu.isPresent() ? "cuda:" + gpu.getAsInt() : "cpu:" + threads;
  }

  /** Where the work runs, for slide rows and logs. */
  public String describe() {
    String where = gpu.isPresent() ? "cuda:" + gpu.getAsInt() + " (onnxruntime)"
        : "cpu (onnxruntime, " + threads + (threads == 1 ? " thread)" : " threads)");
    return note.isEmpty() ? where : where + "; " + note;
  }

  /**
   * The CUDA provider's options for this device: its index, and an arena that grows by what is
   * requested rather than doubling, so a batch size that fits keeps fitting. Empty on the CPU.
   */
  public Map<String, String> cudaOptions() {
    Map<String, String> o = new LinkedHashMap<>();
    if (gpu.isPresent()) {
      o.put("device_id", Integer.toString(gpu.getAsInt()));
      o.put("arena_extend_strategy", "kSameAsRequested");
      o.put("cudnn_conv_algo_search", "HEURISTIC");
    }
    return o;
  }

  /**
   * Session options for this device: all graph optimisations, sequential execution (an encoder is
   * one chain of operators), {@link #threads} intra-op threads and one inter-op thread, and the
   * CUDA provider first when on a GPU. The caller closes them.
   */
  public OrtSession.SessionOptions sessionOptions() throws OrtException {
    OrtSession.SessionOptions options = new OrtSession.SessionOptions();
    try {
      options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
      options.setIntraOpNumThreads(threads);
      options.setInterOpNumThreads(1);
      if (gpu.isPresent()) {
        OrtCUDAProviderOptions cuda = new OrtCUDAProviderOptions(gpu.getAsInt());
        for (var e : cudaOptions().entrySet()) {
          cuda.add(e.getKey(), e.getValue());
        }
        options.addCUDA(cuda);
      }
      return options;
    } catch (OrtException | RuntimeException e) {
      options.close();
      throw e;
    }
  }
}
