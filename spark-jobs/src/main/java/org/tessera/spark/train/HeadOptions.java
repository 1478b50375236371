package org.tessera.spark.train;

import org.tessera.core.nn.mil.MilConfig;

/**
 * The head as the command line gives it. The feature size and the classes come from the data,
 * so the full {@link MilConfig} is made once they are known; a value of 0 (or an empty string)
 * keeps the model's default.
 */
public record HeadOptions(String model, int hiddenDim, int attentionDim, double dropout,
    String loss, double[] classWeights, double focalAlpha, double focalGamma, int clamK,
    double clamInstanceWeight, int transmilLandmarks, String init) {

  /** The model's defaults. */
  public static HeadOptions of(String model) {
    return new HeadOptions(model, 0, 0, -1, "", null, -1, -1, 0, -1, 0, "");
  }

  /** The full configuration for {@code inputDim} features and {@code numClasses} classes. */
  public MilConfig resolve(int inputDim, int numClasses) {
    MilConfig d = MilConfig.defaults(model, inputDim, numClasses);
    return new MilConfig(model, inputDim, numClasses,
        hiddenDim > 0 ? hiddenDim : d.hiddenDim(),
        attentionDim > 0 ? attentionDim : d.attentionDim(),
        dropout >= 0 ? dropout : d.dropout(),
        loss.isEmpty() ? d.loss() : loss,
        classWeights != null ? classWeights : d.classWeights(),
        focalAlpha >= 0 ? focalAlpha : d.focalAlpha(),
        focalGamma >= 0 ? focalGamma : d.focalGamma(),
        clamK > 0 ? clamK : d.clamK(),
        clamInstanceWeight >= 0 ? clamInstanceWeight : d.clamInstanceWeight(),
        transmilLandmarks > 0 ? transmilLandmarks : d.transmilLandmarks(),
        init.isEmpty() ? d.init() : init);
  }
}
