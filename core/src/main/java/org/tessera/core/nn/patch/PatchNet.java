package org.tessera.core.nn.patch;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.tessera.core.collective.Collective;
import org.tessera.core.nn.SafeTensors;
import org.tessera.core.nn.SafeTensorsWriter;

/**
 * A patch encoder (one of the embed stage's architectures, same PyTorch parameter names) with a
 * linear classifier {@code classifier.weight [C, D]}, {@code classifier.bias [C]} on its pooled
 * features, trainable with synchronized batch norm across the workers of a {@link Collective}.
 *
 * <p>Trainable parameters live in one flat float array in a fixed order (module order; conv
 * weight, then BN weight and bias, then the classifier), so an {@link
 * org.tessera.core.optim.Optimizer} updates them as one vector; batch norm running statistics are
 * buffers, saved with the parameters but never optimised.
 */
public final class PatchNet implements AutoCloseable {

  /** The classifier's state_dict prefix. */
  public static final String CLASSIFIER = "classifier";

  private final String architecture;
  private final Sequential encoder;
  private final Linear classifier;
  /** The first module, the only one whose input gradient may be skipped. */
  private final Conv2d stem;
  private final int featureDim;
  private final int numClasses;
  private final List<BatchNorm2d> batchNorms;
  private final List<Param> params = new ArrayList<>();
  private final List<Param> buffers = new ArrayList<>();
  private final INDArray flatParams;
  private final INDArray flatGrads;
  private INDArray features;

  private PatchNet(String architecture, int numClasses, Collective collective) {
    this.architecture = architecture;
    this.numClasses = numClasses;
    this.batchNorms = new ArrayList<>();
    switch (architecture) {
      case "small-cnn" -> {
        encoder = smallCnn(collective, batchNorms);
        featureDim = 256;
      }
      case "resnet50-trunc" -> {
        encoder = resnet50Trunc(collective, batchNorms);
        featureDim = 1024;
      }
      default -> throw new IllegalArgumentException("unknown patch architecture '" + architecture
          + "': use small-cnn or resnet50-trunc");
    }
    stem = (Conv2d) encoder.modules().get(0);
    classifier = new Linear(CLASSIFIER, featureDim, numClasses);
    encoder.collect(params, buffers);
    classifier.collect(params, buffers);
    int n = params.stream().mapToInt(Param::length).sum();
    flatParams = Nd4j.zeros(DataType.FLOAT, n);
    flatGrads = Nd4j.zeros(DataType.FLOAT, n);
    long offset = 0;
    for (Param p : params) {
      long[] shape = p.shape();
      long[] strides = Nd4j.getStrides(shape, 'c');
      p.bind(Nd4j.create(flatParams.data(), shape, strides, offset, 'c'),
          Nd4j.create(flatGrads.data(), shape, strides, offset, 'c'));
      offset += p.length();
    }
  }

  /**
   * A network from a full state dict (encoder and classifier), such as {@link #stateDict()} or a
   * file {@link #save}d. Every tensor must be present with the right size; encoder keys a
   * torchvision file carries beyond resnet50-trunc ({@code layer4.*}, {@code fc.*}) and
   * {@code num_batches_tracked} are ignored, any other extra key is an error.
   */
  public static PatchNet fromStateDict(String architecture, Map<String, float[]> state,
      Collective collective) {
    return fromStateDict(architecture, state, collective, "state dict");
  }

  private static PatchNet fromStateDict(String architecture, Map<String, float[]> state,
      Collective collective, String label) {
    float[] bias = state.get(CLASSIFIER + ".bias");
    if (bias == null) {
      throw new IllegalArgumentException(label + ": missing tensor '" + CLASSIFIER + ".bias' "
          + "(an encoder-only state dict needs withNewClassifier)");
    }
    PatchNet net = new PatchNet(architecture, bias.length, collective);
    net.load(state, label);
    return net;
  }

  /**
   * The encoder of {@code encoderState} (e.g. {@link org.tessera.core.nn.StateDicts#initial})
   * with a new classifier initialised as PyTorch's {@code Linear} is: weight and bias uniform in
   * ±1/sqrt(featureDim), here from {@code seed}.
   */
  public static PatchNet withNewClassifier(String architecture, Map<String, float[]> encoderState,
      int numClasses, long seed, Collective collective) {
    if (numClasses < 2) {
      throw new IllegalArgumentException("numClasses=" + numClasses + " must be >= 2");
    }
    PatchNet net = new PatchNet(architecture, numClasses, collective);
    Map<String, float[]> state = new LinkedHashMap<>(encoderState);
    double bound = 1 / Math.sqrt(net.featureDim);
    Random random = new Random(seed);
    for (String key : List.of(CLASSIFIER + ".weight", CLASSIFIER + ".bias")) {
      if (state.containsKey(key)) {
        throw new IllegalArgumentException("encoder state dict already holds '" + key + "'");
      }
      float[] v = new float[key.endsWith("weight") ? numClasses * net.featureDim : numClasses];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) (bound * (2 * random.nextDouble() - 1));
      }
      state.put(key, v);
    }
    net.load(state, "encoder state dict");
    return net;
  }

  /** A network from a safetensors file written by {@link #save}. */
  public static PatchNet load(String architecture, Path file, Collective collective)
      throws IOException {
    return fromStateDict(architecture, readStateDict(file), collective, "weights " + file);
  }

  /**
   * Every float tensor of a safetensors file by name, except {@code num_batches_tracked}
   * (bookkeeping this network does not use): the encoder file the embed stage loads, or a full
   * one.
   */
  public static Map<String, float[]> readStateDict(Path file) throws IOException {
    Map<String, float[]> state = new LinkedHashMap<>();
    try (SafeTensors in = SafeTensors.open(file)) {
      for (String name : in.names()) {
        if (!name.endsWith(".num_batches_tracked")) {
          state.put(name, in.floats(name));
        }
      }
    }
    return state;
  }

  private void load(Map<String, float[]> state, String label) {
    Set<String> used = new HashSet<>();
    List<Param> all = new ArrayList<>(params);
    all.addAll(buffers);
    for (Param p : all) {
      float[] v = state.get(p.name());
      if (v == null) {
        throw new IllegalArgumentException(label + ": missing tensor '" + p.name() + "' "
            + Arrays.toString(p.shape()) + " needed by " + architecture);
      }
      if (v.length != p.length()) {
        throw new IllegalArgumentException(label + ": tensor '" + p.name() + "' has " + v.length
            + " values but " + architecture + " needs " + Arrays.toString(p.shape()));
      }
      INDArray src = Nd4j.create(v, p.shape(), 'c');
      p.value().assign(src);
      src.close();
      used.add(p.name());
    }
    for (String key : state.keySet()) {
      if (!used.contains(key) && !key.endsWith(".num_batches_tracked") && !ignored(key)) {
        throw new IllegalArgumentException(label + ": unexpected tensor '" + key + "' that "
            + architecture + " with a classifier has no place for");
      }
    }
  }

  private boolean ignored(String key) {
    return architecture.equals("resnet50-trunc")
        && (key.startsWith("layer4.") || key.startsWith("fc."));
  }

  public String architecture() {
    return architecture;
  }

  public int featureDim() {
    return featureDim;
  }

  public int numClasses() {
    return numClasses;
  }

  /**
   * Logits [N, numClasses] for float NCHW tiles [N, 3, H, W], normalised as the encoder expects.
   * In training mode batch norms use (and update running statistics from) the global batch
   * statistics, which every worker of the collective must compute at the same time.
   */
  public INDArray forward(INDArray x, boolean training) {
    if (features != null) {
      features.close();
    }
    features = encoder.forward(x, training);
    return classifier.forward(features, training);
  }

  /**
   * Back-propagates {@code dLogits} of the last forward: parameter gradients are added to the
   * flat gradient, the gradient of the input is returned.
   */
  public INDArray backward(INDArray dLogits) {
    return backward(dLogits, true);
  }

  /**
   * {@link #backward(INDArray)}, returning null without {@code inputGradient}: training needs no
   * gradient of the tiles, and the first convolution's input gradient is its costliest part.
   */
  public INDArray backward(INDArray dLogits, boolean inputGradient) {
    stem.setInputGradient(inputGradient);
    INDArray dFeatures = classifier.backward(dLogits);
    INDArray dx = encoder.backward(dFeatures);
    Activations.release(dFeatures);
    return dx;
  }

  /**
   * Eval-mode pooled features [N, featureDim]: what the embed stage's encoder computes from
   * these weights.
   */
  public INDArray features(INDArray x) {
    INDArray f = encoder.forward(x, false);
    encoder.release();
    return f;
  }

  /** Closes the activations cached by the last forward. */
  public void release() {
    encoder.release();
    classifier.release();
    if (features != null) {
      features.close();
      features = null;
    }
  }

  /** Trainable values in {@link #parameters()}' order. */
  public int numParams() {
    return (int) flatParams.length();
  }

  /** Names and shapes of the trainable parameters, in flat-vector order. */
  public List<Param> parameterList() {
    return List.copyOf(params);
  }

  /** A copy of the flat parameter vector. */
  public float[] parameters() {
    return flatParams.data().asFloat();
  }

  public void setParameters(float[] values) {
    if (values.length != numParams()) {
      throw new IllegalArgumentException("parameter vector has " + values.length
          + " values; " + architecture + " with " + numClasses + " classes has " + numParams());
    }
    flatParams.data().asNioFloat().put(0, values);
  }

  /** A copy of the flat gradient, accumulated by {@link #backward} since {@link #zeroGrad}. */
  public float[] gradients() {
    return flatGrads.data().asFloat();
  }

  public void zeroGrad() {
    flatGrads.assign(0);
  }

  /** Every parameter and buffer, classifier included, by PyTorch name (copies). */
  public Map<String, float[]> stateDict() {
    Map<String, float[]> state = new LinkedHashMap<>();
    for (Param p : params) {
      state.put(p.name(), p.value().dup('c').data().asFloat());
    }
    for (Param p : buffers) {
      state.put(p.name(), p.value().dup('c').data().asFloat());
    }
    return state;
  }

  /** Shapes of {@link #stateDict()}'s tensors, PyTorch's layout. */
  public Map<String, long[]> shapes() {
    Map<String, long[]> shapes = new LinkedHashMap<>();
    for (Param p : params) {
      shapes.put(p.name(), p.shape());
    }
    for (Param p : buffers) {
      shapes.put(p.name(), p.shape());
    }
    return shapes;
  }

  /** The whole network (a checkpoint; {@link #load} reads it back). */
  public void save(Path file) throws IOException {
    SafeTensorsWriter.write(file, shapes(), stateDict());
  }

  /**
   * The encoder alone, the weights file {@code Encoders.load} takes for this architecture, so the
   * embed stage can re-embed tiles with the fine-tuned encoder.
   */
  public void saveEncoder(Path file) throws IOException {
    Map<String, long[]> shapes = new LinkedHashMap<>(shapes());
    shapes.keySet().removeIf(k -> k.startsWith(CLASSIFIER + "."));
    SafeTensorsWriter.write(file, shapes, stateDict());
  }

  /** See {@link BatchNorm2d#setSyncBackward}. */
  void setSyncBackward(boolean on) {
    for (BatchNorm2d bn : batchNorms) {
      bn.setSyncBackward(on);
    }
  }

  @Override
  public void close() {
    release();
    Activations.clear();
    flatParams.close();
    flatGrads.close();
    for (Param p : buffers) {
      p.value().close();
    }
  }

  private static Sequential smallCnn(Collective collective, List<BatchNorm2d> bns) {
    List<Module> m = new ArrayList<>();
    int in = 3;
    for (int i = 1; i <= 4; i++) {
      int out = 16 << i;
      m.add(new Conv2d("block" + i + ".conv", in, out, 3, 1));
      m.add(bn("block" + i + ".bn", out, collective, bns));
      m.add(new ReLU());
      m.add(new MaxPool2d(2, 2, 0));
      in = out;
    }
    m.add(new GlobalAvgPool());
    return new Sequential(m);
  }

  /** torchvision resnet50 (v1.5) through layer3, as {@code Architectures.RESNET50_TRUNC}. */
  private static Sequential resnet50Trunc(Collective collective, List<BatchNorm2d> bns) {
    List<Module> m = new ArrayList<>();
    m.add(new Conv2d("conv1", 3, 64, 7, 2));
    m.add(bn("bn1", 64, collective, bns));
    m.add(new ReLU());
    m.add(new MaxPool2d(3, 2, 1));
    int in = 64;
    int[] blocks = {3, 4, 6};
    for (int stage = 0; stage < blocks.length; stage++) {
      int width = 64 << stage;
      for (int b = 0; b < blocks[stage]; b++) {
        int stride = b == 0 && stage > 0 ? 2 : 1;
        String p = "layer" + (stage + 1) + "." + b + ".";
        Sequential main = new Sequential(List.of(
            new Conv2d(p + "conv1", in, width, 1, 1), bn(p + "bn1", width, collective, bns),
            new ReLU(),
            new Conv2d(p + "conv2", width, width, 3, stride), bn(p + "bn2", width, collective, bns),
            new ReLU(),
            new Conv2d(p + "conv3", width, 4 * width, 1, 1),
            bn(p + "bn3", 4 * width, collective, bns)));
        Sequential shortcut = b == 0 ? new Sequential(List.of(
            new Conv2d(p + "downsample.0", in, 4 * width, 1, stride),
            bn(p + "downsample.1", 4 * width, collective, bns))) : null;
        m.add(new Residual(main, shortcut));
        m.add(new ReLU());
        in = 4 * width;
      }
    }
    m.add(new GlobalAvgPool());
    return new Sequential(m);
  }

  private static BatchNorm2d bn(String name, int channels, Collective collective,
      List<BatchNorm2d> bns) {
    BatchNorm2d bn = new BatchNorm2d(name, channels, collective);
    bns.add(bn);
    return bn;
  }
}
