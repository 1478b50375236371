package org.tessera.core.nn;

import java.util.Map;
import org.deeplearning4j.nn.graph.ComputationGraph;

/**
 * The built-in architectures' parameters as PyTorch-named state dicts, for code outside this
 * package that trains the same networks (the patch fine-tuning of {@code nn.patch}) and must start
 * from exactly the encoder the embed stage used.
 */
public final class StateDicts {

  private StateDicts() {}

  /**
   * The parameters of {@code architecture} as {@code --random-init seed} builds it at
   * {@code inputSize}: conv weights OIHW, batch norms {@code weight/bias/running_mean/running_var}.
   *
   * @throws IllegalArgumentException for an unknown architecture
   */
  public static Map<String, float[]> initial(String architecture, int inputSize, long seed) {
    Architectures arch = Architectures.byId(architecture);
    if (arch == null) {
      throw new IllegalArgumentException("unknown architecture '" + architecture + "': use "
          + String.join(", ", Encoders.ARCHITECTURES));
    }
    ComputationGraph graph = arch.build(inputSize, seed);
    try {
      return NamedWeights.toStateDict(graph);
    } finally {
      graph.close();
    }
  }
}
