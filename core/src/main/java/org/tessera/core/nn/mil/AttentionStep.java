package org.tessera.core.nn.mil;

import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scalar.Step;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Sigmoid;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Tanh;
import org.nd4j.linalg.factory.Nd4j;
import org.tessera.core.optim.Losses;

/**
 * The training step of {@code abmil} and {@code gated-abmil} written out: forward pass, loss and
 * every parameter's gradient for one bag, the same function {@link HeadGraph}'s graph and
 * SameDiff's autodiff compute (tests hold the two together and against PyTorch), in fewer and
 * larger operations.
 *
 * <p>Why: these are the heads most runs train, and their step is a handful of large products
 * ({@code [n, D] x [D, H]} twice, {@code [n, H] x [H, A]} six times) plus element-wise work on
 * {@code [n, H]} and {@code [n, A]} arrays. SameDiff executes the element-wise part as separate
 * ops, each with fresh output arrays, and differentiates the ReLU, dropout, tanh, sigmoid and
 * gating products one by one; here each array is made once per step (uninitialised, freed at the
 * end of the call), activations are computed in place and their buffers overwritten once their
 * value is spent, and ReLU's backward is folded into the dropout mask. The
 * attention softmax, the pooled embedding's classifier and the loss are {@code n + H·C} numbers
 * and run in Java in double precision.
 *
 * <p>Names and shapes follow {@link HeadGraph}: {@code fc} {@code [D, H]}, {@code attention.V}
 * and {@code attention.U} {@code [H, A]}, {@code attention.w} {@code [A, 1]}, {@code classifier}
 * {@code [H, C]}. Dropout masks arrive as {@code MilModel} draws them for the graph ({@code [n,
 * H]}, {@code [n, A]}, {@code [n, A]}), or null without dropout.
 */
final class AttentionStep {
  private final MilConfig cfg;
  private final DataType dt;
  private final boolean gated;

  AttentionStep(MilConfig cfg, DataType dt) {
    this.cfg = cfg;
    this.dt = dt;
    this.gated = cfg.model().equals("gated-abmil");
  }

  /** Whether the model's training step is written out here. */
  static boolean handles(MilConfig cfg) {
    return cfg.model().equals("abmil") || cfg.model().equals("gated-abmil");
  }

  /**
   * One bag's loss, with each parameter's gradient put into {@code grads} by name. Every array
   * this makes, the gradients included, is added to {@code made} for the caller to free; the
   * masks are overwritten.
   *
   * @param x the bag {@code [n, D]}
   * @param param a parameter's current array by name
   * @param masks the dropout masks in graph order, or null without dropout
   */
  double run(INDArray x, Function<String, INDArray> param, List<INDArray> masks, int label,
      Map<String, INDArray> grads, List<INDArray> made) {
    long n = x.size(0);
    int hidden = cfg.hiddenDim();
    int att = cfg.attentionDim();
    int classes = cfg.numClasses();
    INDArray maskH = masks == null ? null : masks.get(0);
    INDArray maskA = masks == null ? null : masks.get(1);
    INDArray maskB = masks == null || !gated ? null : masks.get(2);

    // h = dropout(relu(x W + b)). keep = mask ⊙ [pre > 0] is all the backward pass needs, so
    // the pre-activation is turned into h in place.
    INDArray h = array(made, n, hidden);
    Nd4j.gemm(x, param.apply(HeadGraph.FC_WEIGHT), h, false, false, 1.0, 0.0);
    h.addiRowVector(param.apply(HeadGraph.FC_BIAS));
    INDArray keep = array(made, n, hidden);
    Nd4j.exec(new Step(h, keep));
    if (maskH != null) {
      keep.muli(maskH);
    }
    h.muli(keep);

    // Attention logits s = (dropout(tanh(h V + b)) [⊙ dropout(sigmoid(h U + b))]) w.
    INDArray vw = param.apply("attention.V.weight");
    INDArray qv = array(made, n, att);
    Nd4j.gemm(h, vw, qv, false, false, 1.0, 0.0);
    qv.addiRowVector(param.apply("attention.V.bias"));
    // tanh and sigmoid in place: their outputs are what the backward pass differentiates from.
    INDArray tv = qv;
    Nd4j.exec(new Tanh(qv, tv));
    INDArray ta = maskA == null ? tv : own(made, tv.mul(maskA));
    INDArray uw = null;
    INDArray sg = null;
    INDArray sb = null;
    INDArray gate = ta;
    if (gated) {
      uw = param.apply("attention.U.weight");
      sg = array(made, n, att);
      Nd4j.gemm(h, uw, sg, false, false, 1.0, 0.0);
      sg.addiRowVector(param.apply("attention.U.bias"));
      Nd4j.exec(new Sigmoid(sg, sg));
      sb = maskB == null ? sg : own(made, sg.mul(maskB));
      gate = own(made, ta.mul(sb));
    }
    INDArray ww = param.apply("attention.w.weight");
    INDArray scores = array(made, n, 1);
    Nd4j.gemm(gate, ww, scores, false, false, 1.0, 0.0);

    // Softmax over the instances, pooling, classifier and loss.
    double[] a = Losses.softmax(scores.data().asDouble());
    INDArray aArr = column(made, a);
    INDArray zArr = array(made, 1, hidden);
    Nd4j.gemm(aArr, h, zArr, true, false, 1.0, 0.0);
    double[] z = zArr.data().asDouble();
    double[] wc = param.apply("classifier.weight").data().asDouble(); // [H, C] row-major
    double[] bc = param.apply("classifier.bias").data().asDouble();
    double[] logits = new double[classes];
    for (int c = 0; c < classes; c++) {
      double v = bc[c];
      for (int i = 0; i < hidden; i++) {
        v += z[i] * wc[i * classes + c];
      }
      logits[c] = v;
    }
    double[] dLogits = new double[classes];
    double loss = Losses.bagLossAndGradient(cfg.loss(), logits, label, cfg.classWeights(),
        cfg.focalAlpha(), cfg.focalGamma(), dLogits);

    // Classifier and pooling.
    double[] dWc = new double[hidden * classes];
    double[] dz = new double[hidden];
    for (int i = 0; i < hidden; i++) {
      for (int c = 0; c < classes; c++) {
        dWc[i * classes + c] = z[i] * dLogits[c];
        dz[i] += wc[i * classes + c] * dLogits[c];
      }
    }
    grads.put("classifier.weight", matrix(made, dWc, hidden, classes));
    grads.put("classifier.bias", matrix(made, dLogits, 1, classes).reshape(classes));
    INDArray dzArr = matrix(made, dz, 1, hidden);
    // d(loss)/d(a_i) = h_i · dz, then the softmax's backward pass.
    INDArray daArr = array(made, n, 1);
    Nd4j.gemm(h, dzArr, daArr, false, true, 1.0, 0.0);
    double[] da = daArr.data().asDouble();
    double dot = 0;
    for (int i = 0; i < a.length; i++) {
      dot += a[i] * da[i];
    }
    double[] ds = new double[a.length];
    for (int i = 0; i < a.length; i++) {
      ds[i] = a[i] * (da[i] - dot);
    }
    INDArray dsArr = column(made, ds);
    INDArray ones = array(made, n, 1).assign(1.0);

    // Attention branches: d(gate) = ds w^T, then through the gating product, the masks and
    // the activations.
    INDArray dww = array(made, att, 1);
    Nd4j.gemm(gate, dsArr, dww, true, false, 1.0, 0.0);
    grads.put("attention.w.weight", dww);
    INDArray dGate = array(made, n, att);
    Nd4j.gemm(dsArr, ww, dGate, false, true, 1.0, 0.0);
    INDArray dTa = dGate;
    INDArray dQu = null;
    if (gated) {
      dTa = own(made, dGate.mul(sb));
      // d(sigmoid branch) = d(gate) ⊙ tanh branch, through its mask, times σ(1 - σ); the
      // branches' values are spent after this, so their buffers are overwritten.
      dQu = dGate.muli(ta);
      if (maskB != null) {
        dQu.muli(maskB);
      }
      dQu.muli(sg);
      dQu.muli(sg.rsubi(1.0));
    }
    if (maskA != null) {
      dTa.muli(maskA);
    }
    // d(qv) = d(tanh) ⊙ (1 - tanh²).
    INDArray dQv = dTa.muli(tv.muli(tv).rsubi(1.0));

    INDArray dVw = array(made, hidden, att);
    Nd4j.gemm(h, dQv, dVw, true, false, 1.0, 0.0);
    grads.put("attention.V.weight", dVw);
    grads.put("attention.V.bias", columnSums(made, ones, dQv));
    // d(loss)/dh: from the pooling (a dz) and from each attention branch.
    INDArray dh = array(made, n, hidden);
    Nd4j.gemm(aArr, dzArr, dh, false, false, 1.0, 0.0);
    Nd4j.gemm(dQv, vw, dh, false, true, 1.0, 1.0);
    if (gated) {
      INDArray dUw = array(made, hidden, att);
      Nd4j.gemm(h, dQu, dUw, true, false, 1.0, 0.0);
      grads.put("attention.U.weight", dUw);
      grads.put("attention.U.bias", columnSums(made, ones, dQu));
      Nd4j.gemm(dQu, uw, dh, false, true, 1.0, 1.0);
    }

    // First layer: d(pre) = dh ⊙ keep.
    dh.muli(keep);
    INDArray dW1 = array(made, x.size(1), hidden);
    Nd4j.gemm(x, dh, dW1, true, false, 1.0, 0.0);
    grads.put(HeadGraph.FC_WEIGHT, dW1);
    grads.put(HeadGraph.FC_BIAS, columnSums(made, ones, dh));
    return loss;
  }

  private static INDArray own(List<INDArray> made, INDArray a) {
    made.add(a);
    return a;
  }

  private INDArray array(List<INDArray> made, long rows, long cols) {
    INDArray a = Nd4j.createUninitialized(dt, rows, cols);
    made.add(a);
    return a;
  }

  private INDArray column(List<INDArray> made, double[] values) {
    return matrix(made, values, values.length, 1);
  }

  private INDArray matrix(List<INDArray> made, double[] values, long rows, long cols) {
    INDArray d = Nd4j.create(values, new long[] {rows, cols}, 'c');
    if (dt == DataType.DOUBLE) {
      made.add(d);
      return d;
    }
    INDArray typed = d.castTo(dt);
    d.close();
    made.add(typed);
    return typed;
  }

  /**
   * Column sums of {@code m} {@code [n, k]} as a {@code [k]} vector, by a product with a column
   * of ones: libnd4j's reduction along dimension 0 strides through memory and costs several
   * times as much.
   */
  private INDArray columnSums(List<INDArray> made, INDArray ones, INDArray m) {
    INDArray out = array(made, 1, m.size(1));
    Nd4j.gemm(ones, m, out, true, false, 1.0, 0.0);
    return out.reshape(m.size(1));
  }
}
