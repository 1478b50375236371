package org.tessera.core.nn.mil;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.api.OutAndGrad;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.tessera.core.data.Bag;

/**
 * A MIL head: a SameDiff graph built once per model and run for one bag at a time, with its
 * parameters exposed as one flat float vector so that optimizers and the data-parallel gradient
 * sum ({@link org.tessera.core.optim.GradientSum}) never see tensors. Not thread-safe: use one per
 * thread.
 *
 * <p>Models and their attention maps ({@link Prediction}):
 *
 * <ul>
 *   <li>{@code mean}, {@code max}: maps {@code class_c} hold each instance's logit for class c
 *       from the bag classifier applied to the instance's embedding (for {@code mean} these
 *       average exactly to the bag's logits).
 *   <li>{@code abmil}, {@code gated-abmil}, {@code clam-sb}: map {@code attention}, the softmax
 *       attention weights.
 *   <li>{@code clam-mb}, {@code dsmil}: maps {@code class_c}, each class branch's attention.
 *   <li>{@code transmil}: map {@code attention}, the class token's row of the last layer's
 *       Nyström attention, averaged over heads.
 * </ul>
 *
 * <p>Dropout masks are drawn in Java from {@code new SplittableRandom(dropoutSeed)} in the graph's
 * mask order, row-major, keeping with probability 1 - p and scaling kept values by 1 / (1 - p), so
 * any JVM reproduces a training step's gradient from the seed.
 */
public final class MilModel implements AutoCloseable {

  public static final List<String> MODELS = List.of("mean", "max", "abmil", "gated-abmil",
      "clam-sb", "clam-mb", "dsmil", "transmil");

  private final MilConfig cfg;
  private final HeadGraph graph;
  private final SameDiff sd;
  private final List<String> paramNames = new ArrayList<>();
  /** What the graph differentiates: every parameter but the first layer's, and {@code pre}. */
  private final List<String> graphGradients = new ArrayList<>();
  /** The bag last set up by {@link #inputs}, needed for the first layer's gradient. */
  private INDArray input;
  /** Its first-layer pre-activation when the graph variable {@code pre} copied it, else null. */
  private INDArray pre;
  private boolean closed;
  private boolean backwardBuilt;
  /** abmil and gated-abmil: the training step written out, else null. */
  private final AttentionStep attentionStep;
  /** The native buffer {@link #reusedBagArray} copies bags into; null until the first. */
  private DataBuffer bagBuffer;

  private MilModel(MilConfig cfg, long seed, DataType dt) {
    this.cfg = cfg;
    this.graph = new HeadGraph(cfg, dt);
    this.sd = graph.sd;
    for (ParamInfo p : graph.layout) {
      paramNames.add(p.name());
      if (!p.name().equals(HeadGraph.FC_WEIGHT) && !p.name().equals(HeadGraph.FC_BIAS)) {
        graphGradients.add(p.name());
      }
    }
    graphGradients.add(HeadGraph.PRE);
    attentionStep = AttentionStep.handles(cfg) ? new AttentionStep(cfg, dt) : null;
    setParams(initialParams(seed));
  }

  /** A head with parameters drawn from {@code seed}: the same seed gives the same parameters. */
  public static MilModel create(MilConfig cfg, long seed) {
    return new MilModel(cfg, seed, DataType.FLOAT);
  }

  /** The same head computed in double precision, for finite-difference checks. */
  static MilModel createDouble(MilConfig cfg, long seed) {
    return new MilModel(cfg, seed, DataType.DOUBLE);
  }

  public MilConfig config() {
    return cfg;
  }

  public int numParams() {
    return graph.numParams;
  }

  /**
   * The parameter tensors in flat-vector order. Names follow PyTorch module naming; matrices are
   * {@code [in, out]} (the transpose of a PyTorch {@code Linear.weight}); the order is the order
   * of first use in the forward pass: {@code fc}, then the attention branches ({@code V}, {@code
   * U}, {@code w}), then classifiers, then model-specific parts.
   */
  public List<ParamInfo> layout() {
    return List.copyOf(graph.layout);
  }

  public float[] params() {
    float[] flat = new float[numParams()];
    for (ParamInfo p : graph.layout) {
      INDArray arr = sd.getVariable(p.name()).getArr();
      float[] v;
      if (arr.dataType() == DataType.FLOAT) {
        v = arr.data().asFloat();
      } else {
        INDArray copy = arr.castTo(DataType.FLOAT);
        v = copy.data().asFloat();
        copy.close();
      }
      System.arraycopy(v, 0, flat, p.offset(), v.length);
    }
    return flat;
  }

  public void setParams(float[] flat) {
    if (flat.length != numParams()) {
      throw new IllegalArgumentException("parameter vector has " + flat.length + " values but "
          + cfg.model() + " with this config has " + numParams() + ": it was saved from another"
          + " config");
    }
    for (ParamInfo p : graph.layout) {
      INDArray values = Nd4j.create(Arrays.copyOfRange(flat, p.offset(), p.offset() + p.size()),
          p.shape(), 'c');
      INDArray typed = values.castTo(graph.dt);
      sd.getVariable(p.name()).getArr().assign(typed);
      release(List.of(values, typed));
    }
  }

  /**
   * Training mode: adds d(loss)/d(params) for this bag to {@code grad} and returns the bag's
   * loss. Dropout masks come from {@code dropoutSeed}.
   */
  public double accumulateGradient(Bag bag, int label, long dropoutSeed, double[] grad) {
    if (attentionStep != null) {
      return writtenOutGradient(bag, label, dropoutSeed, grad);
    }
    return graphGradient(bag, label, dropoutSeed, grad);
  }

  /**
   * {@link #accumulateGradient} through {@link AttentionStep}: abmil and gated-abmil, the same
   * masks from the same seed.
   */
  private double writtenOutGradient(Bag bag, int label, long dropoutSeed, double[] grad) {
    checkGradient(grad);
    checkLabel(bag, label);
    List<INDArray> made = new ArrayList<>();
    try {
      INDArray x = reusedBagArray(bag);
      if (x == null) {
        x = bagArray(bag);
        made.add(x);
      }
      List<INDArray> masks = null;
      if (cfg.dropout() > 0) {
        masks = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(dropoutSeed);
        for (HeadGraph.Mask m : graph.masks) {
          masks.add(mask(random, bag.n(), m.width()));
        }
        made.addAll(masks);
      }
      Map<String, INDArray> grads = new HashMap<>();
      double loss = attentionStep.run(x, name -> sd.getVariable(name).getArr(), masks, label,
          grads, made);
      addGradients(grads, grad, made);
      return loss;
    } finally {
      release(made);
    }
  }

  /** {@link #accumulateGradient} through the SameDiff graph, whatever the model. */
  double graphGradient(Bag bag, int label, long dropoutSeed, double[] grad) {
    checkGradient(grad);
    Map<String, INDArray> feed = trainingFeed(bag, label, dropoutSeed);
    List<INDArray> made = new ArrayList<>(feed.values());
    try {
      OutAndGrad result;
      if (backwardBuilt) {
        result = sd.calculateGradientsAndOutputs(feed, List.of("loss"), graphGradients);
      } else {
        // The first call builds the backward graph, which SameDiff announces op by op on stdout.
        result = QuietStdout.call(
            () -> sd.calculateGradientsAndOutputs(feed, List.of("loss"), graphGradients));
        backwardBuilt = true;
      }
      Map<String, INDArray> grads = new HashMap<>(result.getGradients());
      INDArray dPre = grads.get(HeadGraph.PRE);
      grads.put(HeadGraph.FC_WEIGHT, Nd4j.gemm(input, dPre, true, false));
      grads.put(HeadGraph.FC_BIAS, dPre.sum(0));
      made.add(grads.get(HeadGraph.FC_WEIGHT));
      made.add(grads.get(HeadGraph.FC_BIAS));
      addGradients(grads, grad, made);
      return result.getOutputs().get("loss").getDouble(0);
    } finally {
      releaseCall(made);
    }
  }

  /** Adds each parameter's gradient array, by name, at its offset in the flat {@code grad}. */
  private void addGradients(Map<String, INDArray> grads, double[] grad, List<INDArray> made) {
    for (ParamInfo p : graph.layout) {
      INDArray g = grads.get(p.name());
      if (g == null) {
        throw new IllegalStateException("no gradient for parameter " + p.name() + " of "
            + cfg.model());
      }
      if (g.ordering() != 'c' || g.isView()) {
        g = g.dup('c');
        made.add(g);
      }
      int off = p.offset();
      if (graph.dt == DataType.FLOAT) {
        float[] values = g.data().asFloat();
        for (int i = 0; i < values.length; i++) {
          grad[off + i] += values[i];
        }
      } else {
        double[] values = g.data().asDouble();
        for (int i = 0; i < values.length; i++) {
          grad[off + i] += values[i];
        }
      }
    }
  }

  private void checkGradient(double[] grad) {
    if (grad.length != numParams()) {
      throw new IllegalArgumentException("gradient array has " + grad.length + " values, the "
          + "model has " + numParams() + " parameters");
    }
  }

  private void checkLabel(Bag bag, int label) {
    check(bag);
    if (label < 0 || label >= cfg.numClasses()) {
      throw new IllegalArgumentException("bag " + bag.slideId() + ": label " + label
          + " is outside 0.." + (cfg.numClasses() - 1));
    }
  }

  /** The training-mode loss alone (a forward pass), as {@link #accumulateGradient} returns it. */
  double loss(Bag bag, int label, long dropoutSeed) {
    Map<String, INDArray> feed = trainingFeed(bag, label, dropoutSeed);
    List<INDArray> made = new ArrayList<>(feed.values());
    try {
      Map<String, INDArray> out = sd.output(feed, "loss");
      return out.get("loss").getDouble(0);
    } finally {
      releaseCall(made);
    }
  }

  private Map<String, INDArray> trainingFeed(Bag bag, int label, long dropoutSeed) {
    checkLabel(bag, label);
    Map<String, INDArray> feed = inputs(bag);
    SplittableRandom random = new SplittableRandom(dropoutSeed);
    for (HeadGraph.Mask m : graph.masks) {
      feed.put(m.name(), cfg.dropout() > 0 ? mask(random, bag.n(), m.width())
          : Nd4j.ones(graph.dt, 1, m.width()));
    }
    INDArray onehot = Nd4j.zeros(graph.dt, 1, cfg.numClasses());
    onehot.putScalar(0, label, 1.0);
    feed.put("onehot", onehot);
    if (graph.selectionBranches > 0) {
      selectInstances(feed, bag.n());
    }
    return feed;
  }

  /** Evaluation mode (no dropout): class probabilities and the model's attention maps. */
  public Prediction predict(Bag bag) {
    check(bag);
    Map<String, INDArray> feed = inputs(bag);
    for (HeadGraph.Mask m : graph.masks) {
      feed.put(m.name(), Nd4j.ones(graph.dt, 1, m.width()));
    }
    if (cfg.model().equals("dsmil")) {
      selectInstances(feed, bag.n());
    }
    List<INDArray> made = new ArrayList<>(feed.values());
    try {
      Map<String, INDArray> out = sd.output(feed, "probs", "maps");
      float[] probs = out.get("probs").castTo(DataType.FLOAT).data().asFloat();
      INDArray maps = out.get("maps").castTo(DataType.FLOAT);
      made.add(maps);
      int skip = cfg.model().equals("transmil") ? 1 : 0; // the class token's own column
      float[][] attention = new float[graph.mapNames.size()][];
      for (int k = 0; k < attention.length; k++) {
        float[] row = maps.getRow(k).dup().data().asFloat();
        attention[k] = Arrays.copyOfRange(row, skip, row.length);
      }
      return new Prediction(probs, graph.mapNames, attention);
    } finally {
      releaseCall(made);
    }
  }

  /** Frees the parameters' native memory; the model cannot be used afterwards. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      for (String name : paramNames) {
        sd.getVariable(name).getArr().close();
      }
      if (bagBuffer != null) {
        bagBuffer.close();
      }
    }
  }

  private void check(Bag bag) {
    if (closed) {
      throw new IllegalStateException("MIL model " + cfg.model() + " is closed: create another");
    }
    if (bag.dim() != cfg.inputDim()) {
      throw new IllegalArgumentException("bag " + bag.slideId() + " has " + bag.dim()
          + " features per instance but the head was configured with inputDim="
          + cfg.inputDim());
    }
  }

  /**
   * The bag's placeholders other than masks and labels; sets {@code pre} to the bag's first-layer
   * pre-activation.
   */
  private Map<String, INDArray> inputs(Bag bag) {
    Map<String, INDArray> feed = new HashMap<>();
    input = bagArray(bag);
    INDArray pre = input.mmul(sd.getVariable(HeadGraph.FC_WEIGHT).getArr());
    pre.addiRowVector(sd.getVariable(HeadGraph.FC_BIAS).getArr());
    // setArray copies into the variable's array when the shape is unchanged and adopts the given
    // one otherwise; only a copied-from array is ours to free.
    sd.getVariable(HeadGraph.PRE).setArray(pre);
    this.pre = sd.getVariable(HeadGraph.PRE).getArr() == pre ? null : pre;
    if (cfg.model().equals("mean")) {
      feed.put("pool", Nd4j.valueArrayOf(new long[] {1, bag.n()}, 1.0 / bag.n(), graph.dt));
    }
    if (cfg.model().equals("transmil")) {
      feed.put("pos", GridEncoding.encode(bag.x(), bag.y(), cfg.hiddenDim(), graph.dt));
      int tokens = bag.n() + 1;
      int m = Math.min(cfg.transmilLandmarks(), tokens);
      int[] seg = new int[tokens];
      for (int t = 0; t < tokens; t++) {
        seg[t] = (int) ((long) t * m / tokens);
      }
      feed.put("seg", Nd4j.createFromArray(seg));
      feed.put("eye", Nd4j.eye(m).castTo(graph.dt));
    }
    return feed;
  }

  /**
   * The bag's features copied into a native buffer this model keeps (grown as bags grow), as an
   * {@code [n, dim]} array over its start; null for double-precision models. A bag of 10,000 x
   * 1024 is 41 MB, above glibc's largest mmap threshold (32 MB), so a fresh array per step is a
   * fresh mapping whose pages fault in on the copy, which costs as much as the copy itself.
   */
  private INDArray reusedBagArray(Bag bag) {
    if (graph.dt != DataType.FLOAT) {
      return null;
    }
    long need = (long) bag.n() * bag.dim();
    if (bagBuffer == null || bagBuffer.length() < need) {
      if (bagBuffer != null) {
        bagBuffer.close();
      }
      bagBuffer = Nd4j.createBuffer(DataType.FLOAT, need, false);
    }
    new FloatPointer(bagBuffer.addressPointer()).put(bag.features(), 0, Math.toIntExact(need));
    return Nd4j.create(bagBuffer, new long[] {bag.n(), bag.dim()}, new long[] {bag.dim(), 1}, 0,
        'c');
  }

  /** The bag's features as an {@code [n, dim]} array of the model's type. */
  private INDArray bagArray(Bag bag) {
    INDArray x = Nd4j.create(bag.features(), new long[] {bag.n(), bag.dim()}, 'c');
    if (graph.dt == DataType.FLOAT) {
      return x;
    }
    INDArray typed = x.castTo(graph.dt);
    x.close();
    return typed;
  }

  /**
   * The instances a model picks from its own scores, found by a forward pass to {@code scores}:
   * for CLAM each branch's k highest and k lowest attention logits (k = min(clamK, n)), fed as
   * weight columns of 1/k; for DSMIL each class's highest instance logit, fed as one-hot rows.
   * Ties go to the lower index.
   */
  private void selectInstances(Map<String, INDArray> feed, int n) {
    double[][] scores = sd.output(feed, "scores").get("scores").toDoubleMatrix();
    boolean dsmil = cfg.model().equals("dsmil");
    int k = dsmil ? 1 : Math.min(cfg.clamK(), n);
    INDArray critical = dsmil ? Nd4j.zeros(graph.dt, cfg.numClasses(), n) : null;
    for (int br = 0; br < graph.selectionBranches; br++) {
      double[] s = column(scores, br);
      int[] order = descending(s);
      if (dsmil) {
        critical.putScalar(br, order[0], 1.0);
        continue;
      }
      INDArray top = Nd4j.zeros(graph.dt, n, 1);
      INDArray bottom = Nd4j.zeros(graph.dt, n, 1);
      for (int i = 0; i < k; i++) {
        top.putScalar(order[i], 0, 1.0 / k);
        bottom.putScalar(order[n - 1 - i], 0, 1.0 / k);
      }
      feed.put("top_" + br, top);
      feed.put("bottom_" + br, bottom);
    }
    if (dsmil) {
      feed.put("critical", critical);
    }
  }

  private static double[] column(double[][] m, int c) {
    double[] out = new double[m.length];
    for (int r = 0; r < m.length; r++) {
      out[r] = m[r][c];
    }
    return out;
  }

  /**
   * Frees the native memory of arrays this model made for one call (inputs, masks, the first
   * layer's products). Left to the garbage collector it comes back late, as the heap rarely fills
   * with these small Java objects, so the process grows and new arrays land on fresh pages, whose
   * first-touch faults cost as much as the arithmetic on a virtual machine. SameDiff's own
   * outputs are left to it.
   */
  private void releaseCall(List<INDArray> made) {
    made.add(input);
    made.add(pre);
    release(made);
  }

  private static void release(List<INDArray> arrays) {
    for (INDArray a : arrays) {
      if (a != null && a.closeable() && !a.wasClosed()) {
        a.close();
      }
    }
  }

  private static int[] descending(double[] s) {
    Integer[] order = new Integer[s.length];
    for (int i = 0; i < s.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> s[a] != s[b] ? Double.compare(s[b], s[a]) : a - b);
    int[] out = new int[s.length];
    for (int i = 0; i < s.length; i++) {
      out[i] = order[i];
    }
    return out;
  }

  private INDArray mask(SplittableRandom random, int rows, int width) {
    // Four 16-bit draws per random long (masks are the largest random draw of a step): an entry
    // is dropped when its draw is below cut, so with probability cut / 2^16, which keep undoes.
    int cut = (int) Math.min(65535, Math.round(cfg.dropout() * 65536));
    float keep = (float) (65536.0 / (65536 - cut));
    float[] m = new float[Math.multiplyExact(rows, width)];
    long bits = 0;
    for (int i = 0; i < m.length; i++) {
      if ((i & 3) == 0) {
        bits = random.nextLong();
      }
      m[i] = (int) (bits & 0xFFFF) < cut ? 0f : keep;
      bits >>>= 16;
    }
    INDArray arr = Nd4j.create(m, new long[] {rows, width}, 'c');
    return graph.dt == DataType.FLOAT ? arr : arr.castTo(graph.dt);
  }

  private float[] initialParams(long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    float[] flat = new float[numParams()];
    for (int t = 0; t < graph.layout.size(); t++) {
      ParamInfo p = graph.layout.get(t);
      long[] shape = p.shape();
      double fanIn = shape.length > 1 ? shape[0] : 1;
      double fanOut = shape.length > 1 ? shape[1] : shape[0];
      for (int i = 0; i < p.size(); i++) {
        flat[p.offset() + i] = (float) switch (graph.inits.get(t)) {
          case ZERO -> 0.0;
          case ONE -> 1.0;
          case NORMAL -> random.nextGaussian();
          case WEIGHT -> switch (cfg.init()) {
            case "xavier-uniform" -> {
              double a = Math.sqrt(6 / (fanIn + fanOut));
              yield random.nextDouble(-a, a);
            }
            case "xavier-normal" -> random.nextGaussian() * Math.sqrt(2 / (fanIn + fanOut));
            default -> random.nextGaussian() * Math.sqrt(2 / fanIn);
          };
        };
      }
    }
    return flat;
  }
}
