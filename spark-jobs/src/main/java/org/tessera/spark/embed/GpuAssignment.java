package org.tessera.spark.embed;

import ai.onnxruntime.OrtEnvironment;
import java.util.Map;
import java.util.OptionalInt;
import org.apache.spark.resource.ResourceInformation;
import org.nd4j.linalg.factory.Nd4j;
import org.tessera.core.nn.OnnxDevice;

/**
 * Which GPU a task may use. Spark assigns GPUs per task when {@code spark.task.resource.gpu.amount}
 * is set (addresses come from the executor's discovery script, see deploy/gpu); a task binds ND4J
 * to the first address it was given, so two tasks on one executor never share a device by accident.
 */
final class GpuAssignment {
  static final String GPU = "gpu";

  private GpuAssignment() {}

  /** The first GPU address Spark gave the task, if it gave any. */
  static OptionalInt assigned(Map<String, ResourceInformation> taskResources) {
    ResourceInformation gpu = taskResources.get(GPU);
    if (gpu == null || gpu.addresses().length == 0) {
      return OptionalInt.empty();
    }
    String address = gpu.addresses()[0].trim();
    try {
      return OptionalInt.of(Integer.parseInt(address));
    } catch (NumberFormatException e) {
      throw new IllegalStateException("GPU address '" + address + "' from the discovery script is"
          + " not a device index: the script must print CUDA device numbers", e);
    }
  }

  /**
   * Where an ONNX encoder runs for a task: on the GPU Spark assigned it (CUDA provider, when this
   * build has it) with {@code spark.task.cpus} intra-op threads, else on the CPU. ND4J is not
   * bound: ONNX Runtime picks the device per session.
   */
  static OnnxDevice onnxDevice(Map<String, ResourceInformation> taskResources, int taskCpus) {
    return OnnxDevice.forTask(assigned(taskResources), Math.max(1, taskCpus),
        OrtEnvironment.getAvailableProviders());
  }

  /** True when ND4J runs on its CUDA backend (the {@code cuda} build profile). */
  static boolean cudaBackend() {
    return !Nd4j.getEnvironment().isCPU();
  }

  /**
   * Binds the calling thread's ND4J device to the assigned GPU on the CUDA backend and returns a
   * description of where the work runs, for the slide row and the logs.
   */
  static String bind(OptionalInt gpu) {
    if (gpu.isEmpty()) {
      return cudaBackend() ? "cuda:default" : "cpu";
    }
    if (!cudaBackend()) {
      return "cpu (gpu " + gpu.getAsInt() + " assigned, but this build's ND4J backend is the CPU;"
          + " build with -Pcuda)";
    }
    Nd4j.getAffinityManager().unsafeSetDevice(gpu.getAsInt());
    return "cuda:" + gpu.getAsInt();
  }
}
