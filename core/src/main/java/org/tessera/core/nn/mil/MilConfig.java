package org.tessera.core.nn.mil;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.tessera.core.optim.Losses;

/**
 * Everything that fixes a MIL head's shape, loss and initialisation; a checkpoint stores it next to
 * the parameter vector so the same head can be rebuilt in any JVM. Weight matrices follow the
 * {@code x @ W} convention ({@code [in, out]}); see {@link MilModel#layout()}.
 *
 * @param model one of {@link MilModel#MODELS}
 * @param inputDim features per instance
 * @param numClasses classes, at least 2 (a binary task has two softmax outputs)
 * @param hiddenDim width of the instance embedding (TransMIL: model width, a multiple of 8)
 * @param attentionDim width of the attention branches (DSMIL: query width)
 * @param dropout drop probability in training mode, in [0, 1)
 * @param loss one of {@link Losses#NAMES}
 * @param classWeights per-class weights for {@code weighted-ce}; null means all 1
 * @param focalAlpha α of the focal loss, applied to every class
 * @param focalGamma γ of the focal loss
 * @param clamK instances taken from each end of the attention ranking for CLAM's instance loss
 * @param clamInstanceWeight weight c of CLAM's instance loss: (1 - c) bag + c instance
 * @param transmilLandmarks Nyström landmarks of TransMIL's attention
 * @param init weight initialisation: xavier-uniform, xavier-normal or he (biases start at 0)
 */
public record MilConfig(String model, int inputDim, int numClasses, int hiddenDim,
    int attentionDim, double dropout, String loss, double[] classWeights, double focalAlpha,
    double focalGamma, int clamK, double clamInstanceWeight, int transmilLandmarks, String init) {

  public static final List<String> INITS = List.of("xavier-uniform", "xavier-normal", "he");

  /** TransMIL's heads; the model width must divide by it. */
  static final int TRANSMIL_HEADS = 8;

  public MilConfig {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(loss, "loss");
    Objects.requireNonNull(init, "init");
    if (!MilModel.MODELS.contains(model)) {
      throw bad("model", model, "one of " + MilModel.MODELS);
    }
    if (inputDim < 1) {
      throw bad("inputDim", inputDim, "a positive feature count");
    }
    if (numClasses < 2) {
      throw bad("numClasses", numClasses, "at least 2 (binary tasks use two softmax outputs)");
    }
    if (hiddenDim < 1) {
      throw bad("hiddenDim", hiddenDim, "a positive width");
    }
    if (model.equals("transmil") && hiddenDim % TRANSMIL_HEADS != 0) {
      throw bad("hiddenDim", hiddenDim, "a multiple of " + TRANSMIL_HEADS
          + " for transmil (one slice per attention head)");
    }
    if (attentionDim < 1) {
      throw bad("attentionDim", attentionDim, "a positive width");
    }
    if (!(dropout >= 0 && dropout < 1)) {
      throw bad("dropout", dropout, "a probability in [0, 1)");
    }
    if (!Losses.NAMES.contains(loss)) {
      throw bad("loss", loss, "one of " + Losses.NAMES);
    }
    if (classWeights != null) {
      if (classWeights.length != numClasses) {
        throw bad("classWeights", Arrays.toString(classWeights), numClasses
            + " weights, one per class");
      }
      for (double w : classWeights) {
        if (!(w > 0) || Double.isInfinite(w)) {
          throw bad("classWeights", Arrays.toString(classWeights), "finite weights > 0");
        }
      }
      classWeights = classWeights.clone();
    } else if (loss.equals("weighted-ce")) {
      throw bad("classWeights", "null", numClasses + " per-class weights for loss weighted-ce");
    }
    if (!(focalAlpha > 0) || Double.isInfinite(focalAlpha)) {
      throw bad("focalAlpha", focalAlpha, "a finite value > 0");
    }
    if (!(focalGamma >= 0) || Double.isInfinite(focalGamma)) {
      throw bad("focalGamma", focalGamma, "a finite value >= 0");
    }
    if (clamK < 1) {
      throw bad("clamK", clamK, "at least 1 instance");
    }
    if (!(clamInstanceWeight >= 0 && clamInstanceWeight <= 1)) {
      throw bad("clamInstanceWeight", clamInstanceWeight, "a weight in [0, 1]");
    }
    if (transmilLandmarks < 1) {
      throw bad("transmilLandmarks", transmilLandmarks, "at least 1 landmark");
    }
    if (!INITS.contains(init)) {
      throw bad("init", init, "one of " + INITS);
    }
  }

  /** The defaults of CLAM and TransMIL: hidden 512, attention 256, dropout 0.25, loss ce. */
  public static MilConfig defaults(String model, int inputDim, int numClasses) {
    return new MilConfig(model, inputDim, numClasses, 512, 256, 0.25, "ce", null, 0.25, 2.0, 8,
        0.3, 64, "xavier-uniform");
  }

  @Override
  public double[] classWeights() {
    return classWeights == null ? null : classWeights.clone();
  }

  /** The weight of class {@code c} in the loss (1 unless class weights are set). */
  public double classWeight(int c) {
    return classWeights == null ? 1 : classWeights[c];
  }

  public MilConfig withModel(String v) {
    return new MilConfig(v, inputDim, numClasses, hiddenDim, attentionDim, dropout, loss,
        classWeights, focalAlpha, focalGamma, clamK, clamInstanceWeight, transmilLandmarks, init);
  }

  public MilConfig withLoss(String v) {
    return new MilConfig(model, inputDim, numClasses, hiddenDim, attentionDim, dropout, v,
        classWeights, focalAlpha, focalGamma, clamK, clamInstanceWeight, transmilLandmarks, init);
  }

  public MilConfig withDropout(double v) {
    return new MilConfig(model, inputDim, numClasses, hiddenDim, attentionDim, v, loss,
        classWeights, focalAlpha, focalGamma, clamK, clamInstanceWeight, transmilLandmarks, init);
  }

  public MilConfig withHiddenDim(int v) {
    return new MilConfig(model, inputDim, numClasses, v, attentionDim, dropout, loss,
        classWeights, focalAlpha, focalGamma, clamK, clamInstanceWeight, transmilLandmarks, init);
  }

  public MilConfig withAttentionDim(int v) {
    return new MilConfig(model, inputDim, numClasses, hiddenDim, v, dropout, loss,
        classWeights, focalAlpha, focalGamma, clamK, clamInstanceWeight, transmilLandmarks, init);
  }

  public MilConfig withClassWeights(double[] v) {
    return new MilConfig(model, inputDim, numClasses, hiddenDim, attentionDim, dropout, loss, v,
        focalAlpha, focalGamma, clamK, clamInstanceWeight, transmilLandmarks, init);
  }

  public MilConfig withFocal(double alpha, double gamma) {
    return new MilConfig(model, inputDim, numClasses, hiddenDim, attentionDim, dropout, loss,
        classWeights, alpha, gamma, clamK, clamInstanceWeight, transmilLandmarks, init);
  }

  public MilConfig withClam(int k, double instanceWeight) {
    return new MilConfig(model, inputDim, numClasses, hiddenDim, attentionDim, dropout, loss,
        classWeights, focalAlpha, focalGamma, k, instanceWeight, transmilLandmarks, init);
  }

  public MilConfig withTransmilLandmarks(int v) {
    return new MilConfig(model, inputDim, numClasses, hiddenDim, attentionDim, dropout, loss,
        classWeights, focalAlpha, focalGamma, clamK, clamInstanceWeight, v, init);
  }

  public MilConfig withInit(String v) {
    return new MilConfig(model, inputDim, numClasses, hiddenDim, attentionDim, dropout, loss,
        classWeights, focalAlpha, focalGamma, clamK, clamInstanceWeight, transmilLandmarks, v);
  }

  // Records compare arrays by reference; a configuration is a value, so compare the weights.
  @Override
  public boolean equals(Object o) {
    return o instanceof MilConfig c && model.equals(c.model) && inputDim == c.inputDim
        && numClasses == c.numClasses && hiddenDim == c.hiddenDim
        && attentionDim == c.attentionDim && Double.compare(dropout, c.dropout) == 0
        && loss.equals(c.loss) && Arrays.equals(classWeights, c.classWeights)
        && Double.compare(focalAlpha, c.focalAlpha) == 0
        && Double.compare(focalGamma, c.focalGamma) == 0 && clamK == c.clamK
        && Double.compare(clamInstanceWeight, c.clamInstanceWeight) == 0
        && transmilLandmarks == c.transmilLandmarks && init.equals(c.init);
  }

  @Override
  public int hashCode() {
    return Objects.hash(model, inputDim, numClasses, hiddenDim, attentionDim, dropout, loss,
        Arrays.hashCode(classWeights), focalAlpha, focalGamma, clamK, clamInstanceWeight,
        transmilLandmarks, init);
  }

  @Override
  public String toString() {
    return "MilConfig[model=" + model + ", inputDim=" + inputDim + ", numClasses=" + numClasses
        + ", hiddenDim=" + hiddenDim + ", attentionDim=" + attentionDim + ", dropout=" + dropout
        + ", loss=" + loss + ", classWeights=" + Arrays.toString(classWeights) + ", focalAlpha="
        + focalAlpha + ", focalGamma=" + focalGamma + ", clamK=" + clamK
        + ", clamInstanceWeight=" + clamInstanceWeight + ", transmilLandmarks="
        + transmilLandmarks + ", init=" + init + "]";
  }

  private static IllegalArgumentException bad(String key, Object value, String allowed) {
    return new IllegalArgumentException("MIL config " + key + "=" + value + " is invalid: use "
        + allowed);
  }
}
