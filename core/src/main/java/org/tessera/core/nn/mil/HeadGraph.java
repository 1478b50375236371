package org.tessera.core.nn.mil;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.tessera.core.optim.Losses;

/**
 * Builds one head's SameDiff graph once, with the bag as placeholders so it is reused for every
 * bag. Names the graph's placeholders and outputs for {@link MilModel}, which feeds and runs it.
 *
 * <p>Placeholders: {@code x [n, inputDim]}; {@code onehot [1, C]}; dropout masks ({@link #masks},
 * fed {@code [n, width]} in training and a broadcast row of ones in evaluation); CLAM's selected
 * instances {@code top_c}/{@code bottom_c} (int {@code [k]}); TransMIL's {@code pos [n, hidden]},
 * landmark segment ids {@code seg [n + 1]} and {@code eye [m, m]}. Outputs: {@code loss} (scalar),
 * {@code probs [1, C]}, {@code maps [K, n]} (TransMIL: {@code [1, n + 1]}, class token first) and,
 * for CLAM, {@code scores [n, branches]}, the attention logits that pick the instances.
 */
final class HeadGraph {

  /** How a parameter tensor starts. */
  enum Init { WEIGHT, ZERO, ONE, NORMAL }

  /** A dropout mask placeholder and its width. */
  record Mask(String name, int width) {}

  final SameDiff sd = SameDiff.create();
  final DataType dt;
  final MilConfig cfg;
  final List<ParamInfo> layout = new ArrayList<>();
  final List<Init> inits = new ArrayList<>();
  final List<Mask> masks = new ArrayList<>();
  final List<String> mapNames = new ArrayList<>();
  /** CLAM: attention branches whose top and bottom instances are fed back as placeholders. */
  int selectionBranches;
  int numParams;

  private final SDVariable x;
  private final SDVariable onehot;

  HeadGraph(MilConfig cfg, DataType dt) {
    this.cfg = cfg;
    this.dt = dt;
    x = sd.placeHolder("x", dt, -1, cfg.inputDim());
    onehot = sd.placeHolder("onehot", dt, 1, cfg.numClasses());
    switch (cfg.model()) {
      case "mean", "max" -> pooled(cfg.model().equals("max"));
      case "abmil", "gated-abmil" -> attention(cfg.model().equals("gated-abmil"));
      case "clam-sb", "clam-mb" -> clam(cfg.model().equals("clam-mb"));
      case "dsmil" -> dsmil();
      case "transmil" -> transmil();
      default -> throw new IllegalArgumentException("model=" + cfg.model() + " is unknown: use"
          + " one of " + MilModel.MODELS);
    }
  }

  // ---- models ----

  /** Instance MLP, mean or max pooling, linear classifier; maps are per-instance class logits. */
  private void pooled(boolean max) {
    SDVariable h = embed();
    SDVariable w = weight("classifier.weight", cfg.hiddenDim(), cfg.numClasses());
    SDVariable b = bias("classifier.bias", cfg.numClasses());
    // A reduction over a dimension of length 1 fails in SameDiff 1.0.0-M2.1 (a one-instance bag),
    // so the mean is a product with a fed row of 1/n and the max runs over one extra low row.
    SDVariable z = max ? maxOverInstances(h, cfg.hiddenDim())
        : sd.placeHolder("pool", dt, 1, -1).mmul(h);
    SDVariable logits = z.mmul(w).add(b);
    // For mean pooling these per-instance logits average exactly to the bag's logits.
    sd.identity("maps", sd.transpose(h.mmul(w).add(b)));
    classMaps();
    finish(logits, bagLoss(logits));
  }

  /** Ilse et al.'s attention pooling, plain or gated. */
  private void attention(boolean gated) {
    SDVariable h = embed();
    SDVariable a = sd.nn.softmax(attentionScores(h, gated, 1), 0);
    SDVariable z = sd.mmul(a, h, true, false, false);
    SDVariable logits = z.mmul(weight("classifier.weight", cfg.hiddenDim(), cfg.numClasses()))
        .add(bias("classifier.bias", cfg.numClasses()));
    sd.identity("maps", sd.transpose(a));
    mapNames.add("attention");
    finish(logits, bagLoss(logits));
  }

  /**
   * CLAM: gated attention, one branch (sb) or one per class with per-class classifiers (mb), and
   * the instance clustering loss on the top and bottom attended instances, whose indices are
   * chosen from a first pass's {@code scores} and fed back.
   */
  private void clam(boolean multiBranch) {
    int classes = cfg.numClasses();
    SDVariable h = embed();
    SDVariable scores = attentionScores(h, true, multiBranch ? classes : 1);
    sd.identity("scores", scores);
    SDVariable a = sd.nn.softmax(scores, 0);
    SDVariable logits;
    if (multiBranch) {
      SDVariable m = sd.mmul(a, h, true, false, false);
      SDVariable w = weight("classifiers.weight", classes, cfg.hiddenDim());
      logits = m.mul(w).sum(1).reshape(1, classes).add(bias("classifiers.bias", classes));
    } else {
      SDVariable z = sd.mmul(a, h, true, false, false);
      logits = z.mmul(weight("classifier.weight", cfg.hiddenDim(), classes))
          .add(bias("classifier.bias", classes));
    }
    selectionBranches = multiBranch ? classes : 1;
    // Subtyping (more than two classes): every class's instance classifier also learns that
    // the other classes' top instances are negatives, and the class losses are averaged.
    boolean subtyping = classes > 2;
    // Selected instances arrive as weight columns (1/k on the chosen rows): a weighted sum over
    // all instances' log-probabilities is the mean over the chosen ones, and costs O(n).
    SDVariable[] tops = new SDVariable[selectionBranches];
    SDVariable[] bottoms = new SDVariable[selectionBranches];
    for (int br = 0; br < selectionBranches; br++) {
      tops[br] = sd.placeHolder("top_" + br, dt, -1, 1);
      bottoms[br] = sd.placeHolder("bottom_" + br, dt, -1, 1);
    }
    SDVariable instance = null;
    for (int c = 0; c < classes; c++) {
      int br = multiBranch ? c : 0;
      SDVariable w = weight("instance_classifiers." + c + ".weight", cfg.hiddenDim(), 2);
      SDVariable b = bias("instance_classifiers." + c + ".bias", 2);
      SDVariable logp = Losses.logSoftmaxRows(sd, h.mmul(w).add(b));
      SDVariable logpNegative = logp.mmul(unit(2, 0));
      SDVariable logpPositive = logp.mmul(unit(2, 1));
      // Mean cross-entropy over the 2k instances: top ones are positives, bottom ones negatives.
      SDVariable inClass = logpPositive.mul(tops[br]).sum()
          .add(logpNegative.mul(bottoms[br]).sum()).mul(-0.5);
      SDVariable isLabel = onehot.mmul(unit(classes, c)).sum();
      SDVariable term = inClass.mul(isLabel);
      if (subtyping) {
        SDVariable outClass = logpNegative.mul(tops[br]).sum().neg();
        term = term.add(outClass.mul(isLabel.rsub(1.0)));
      }
      instance = instance == null ? term : instance.add(term);
    }
    if (subtyping) {
      instance = instance.div(classes);
    }
    double c = cfg.clamInstanceWeight();
    SDVariable loss = bagLoss(logits).mul(1 - c).add(instance.mul(c));
    sd.identity("maps", sd.transpose(a));
    if (multiBranch) {
      classMaps();
    } else {
      mapNames.add("attention");
    }
    finish(logits, loss);
  }

  /**
   * DSMIL: an instance stream (max-pooled instance logits) and a bag stream attending to each
   * class's critical instance (the one with the highest instance logit); the prediction averages
   * the two streams' logits and the loss is the mean of both streams' losses.
   */
  private void dsmil() {
    int classes = cfg.numClasses();
    int hidden = cfg.hiddenDim();
    int q = cfg.attentionDim();
    SDVariable h = embed();
    SDVariable instanceLogits = h.mmul(weight("instance_classifier.weight", hidden, classes))
        .add(bias("instance_classifier.bias", classes));
    SDVariable maxLogits = maxOverInstances(instanceLogits, classes);
    sd.identity("scores", instanceLogits);
    selectionBranches = classes;
    // Each class's critical instance arrives as a one-hot row, so selecting it is a product.
    SDVariable critical = sd.placeHolder("critical", dt, classes, -1).mmul(h);
    SDVariable w1 = weight("query.0.weight", hidden, q);
    SDVariable b1 = bias("query.0.bias", q);
    SDVariable w2 = weight("query.1.weight", q, q);
    SDVariable b2 = bias("query.1.bias", q);
    SDVariable queries = query(h, w1, b1, w2, b2);
    SDVariable criticalQueries = query(critical, w1, b1, w2, b2);
    SDVariable a = sd.nn.softmax(sd.mmul(queries, criticalQueries, false, true, false)
        .div(Math.sqrt(q)), 0);
    // The original's Conv1d over the [C, hidden] bag embedding, kernel = hidden, is this linear
    // layer on the flattened embedding.
    SDVariable bagEmbedding = sd.mmul(a, h, true, false, false).reshape(1, (long) classes * hidden);
    SDVariable bagLogits = bagEmbedding.mmul(weight("bag_classifier.weight",
        classes * hidden, classes)).add(bias("bag_classifier.bias", classes));
    SDVariable logits = bagLogits.add(maxLogits).mul(0.5);
    SDVariable loss = bagLoss(bagLogits).add(bagLoss(maxLogits)).mul(0.5);
    sd.identity("maps", sd.transpose(a));
    classMaps();
    finish(logits, loss);
  }

  private static SDVariable query(SDVariable in, SDVariable w1, SDVariable b1, SDVariable w2,
      SDVariable b2) {
    SameDiff sd = in.getSameDiff();
    return sd.math.tanh(sd.nn.relu(in.mmul(w1).add(b1), 0).mmul(w2).add(b2));
  }

  /**
   * TransMIL with a grid positional encoding: embedding, class token, two pre-norm layers of
   * Nyström multi-head self-attention with residuals, final LayerNorm, classifier on the token.
   */
  private void transmil() {
    int hidden = cfg.hiddenDim();
    SDVariable h = embed().add(sd.placeHolder("pos", dt, -1, hidden));
    SDVariable cls = param("cls_token", Init.NORMAL, 1, hidden);
    SDVariable tokens = sd.concat(0, cls, h);
    SDVariable seg = sd.placeHolder("seg", DataType.INT, -1);
    SDVariable eye = sd.placeHolder("eye", dt, -1, -1);
    SDVariable clsAttention = null;
    for (int layer = 0; layer < 2; layer++) {
      String p = "layers." + layer + ".";
      SDVariable u = layerNorm(tokens, p + "norm");
      Nystrom att = nystrom(u, p + "attn", seg, eye, layer == 1);
      tokens = tokens.add(att.out);
      clsAttention = att.clsRow;
    }
    SDVariable cls0 = sd.slice(layerNorm(tokens, "norm"), new int[] {0, 0}, 1, hidden);
    SDVariable logits = cls0.mmul(weight("classifier.weight", hidden, cfg.numClasses()))
        .add(bias("classifier.bias", cfg.numClasses()));
    sd.identity("maps", clsAttention);
    mapNames.add("attention");
    finish(logits, bagLoss(logits));
  }

  private record Nystrom(SDVariable out, SDVariable clsRow) {}

  /**
   * Multi-head Nyström self-attention, all heads at once as {@code [heads, T, dh]} batches.
   * Landmarks are the means of {@code m} contiguous token segments ({@code seg}), so the cost is
   * O(T m) instead of O(T²).
   */
  private Nystrom nystrom(SDVariable u, String p, SDVariable seg, SDVariable eye,
      boolean wantClsRow) {
    int hidden = cfg.hiddenDim();
    int heads = MilConfig.TRANSMIL_HEADS;
    int dh = hidden / heads;
    SDVariable q = u.mmul(weight(p + ".q.weight", hidden, hidden)).mul(1 / Math.sqrt(dh));
    SDVariable k = u.mmul(weight(p + ".k.weight", hidden, hidden));
    SDVariable v = u.mmul(weight(p + ".v.weight", hidden, hidden));
    SDVariable ql = byHead(sd.segmentMean(q, seg), heads, dh);
    SDVariable kl = byHead(sd.segmentMean(k, seg), heads, dh);
    q = byHead(q, heads, dh);
    k = byHead(k, heads, dh);
    v = byHead(v, heads, dh);
    SDVariable a1 = sd.nn.softmax(sd.mmul(q, kl, false, true, false), 2);
    SDVariable a2 = sd.nn.softmax(sd.mmul(ql, kl, false, true, false), 2);
    SDVariable a3 = sd.nn.softmax(sd.mmul(ql, k, false, true, false), 2);
    SDVariable a2inv = pseudoInverse(a2, eye);
    SDVariable out = sd.mmul(sd.mmul(a1, a2inv), sd.mmul(a3, v));
    SDVariable merged = sd.permute(out, 1, 0, 2).reshape(-1, hidden);
    SDVariable projected = merged.mmul(weight(p + ".out.weight", hidden, hidden))
        .add(bias(p + ".out.bias", hidden));
    SDVariable clsRow = null;
    if (wantClsRow) {
      // The class token's attention row: its query row through the same three factors.
      SDVariable q0 = sd.slice(a1, new int[] {0, 0, 0}, heads, 1, -1);
      clsRow = sd.mmul(sd.mmul(q0, a2inv), a3).mean(0).reshape(1, -1);
    }
    return new Nystrom(projected, clsRow);
  }

  /** {@code [T, heads * dh]} to {@code [heads, T, dh]}. */
  private SDVariable byHead(SDVariable v, int heads, int dh) {
    return sd.permute(v.reshape(-1, heads, dh), 1, 0, 2);
  }

  /** Iterative Moore-Penrose pseudo-inverse (Razavi et al.), 6 iterations as in Nyströmformer. */
  private SDVariable pseudoInverse(SDVariable a, SDVariable eye) {
    // Scaled by the largest row and column sums over all heads, as Nyströmformer does. A
    // multiplied reciprocal, not a division: SameDiff 1.0.0-M2.1 gets the divisor's gradient
    // wrong when a tensor is divided by a scalar variable.
    SDVariable abs = sd.math.abs(a);
    SDVariable scale = sd.math.pow(abs.sum(true, 2).max(true, 0, 1, 2)
        .mul(abs.sum(true, 1).max(true, 0, 1, 2)), -1);
    SDVariable z = sd.permute(a, 0, 2, 1).mul(scale);
    for (int it = 0; it < 6; it++) {
      SDVariable az = sd.mmul(a, z);
      SDVariable inner = eye.mul(7).sub(az);
      inner = eye.mul(15).sub(sd.mmul(az, inner));
      inner = eye.mul(13).sub(sd.mmul(az, inner));
      z = sd.mmul(z, inner).mul(0.25);
    }
    return z;
  }

  private SDVariable layerNorm(SDVariable v, String p) {
    SDVariable g = param(p + ".weight", Init.ONE, cfg.hiddenDim());
    SDVariable b = bias(p + ".bias", cfg.hiddenDim());
    SDVariable centred = v.sub(v.mean(true, 1));
    SDVariable var = centred.mul(centred).mean(true, 1);
    return centred.div(sd.math.sqrt(var.add(1e-5))).mul(g).add(b);
  }

  // ---- shared pieces ----

  /** h = dropout(ReLU(x W + b)), the instance embedding every head starts from. */
  private SDVariable embed() {
    SDVariable w = weight("fc.weight", cfg.inputDim(), cfg.hiddenDim());
    SDVariable b = bias("fc.bias", cfg.hiddenDim());
    return dropout(sd.nn.relu(x.mmul(w).add(b), 0), "drop_h", cfg.hiddenDim());
  }

  /** Attention logits {@code [n, branches]}: w^T tanh(V h) or w^T (tanh(V h) ⊙ sigmoid(U h)). */
  private SDVariable attentionScores(SDVariable h, boolean gated, int branches) {
    int att = cfg.attentionDim();
    SDVariable a = sd.math.tanh(h.mmul(weight("attention.V.weight", cfg.hiddenDim(), att))
        .add(bias("attention.V.bias", att)));
    a = dropout(a, "drop_a", att);
    if (gated) {
      SDVariable g = sd.nn.sigmoid(h.mmul(weight("attention.U.weight", cfg.hiddenDim(), att))
          .add(bias("attention.U.bias", att)));
      a = a.mul(dropout(g, "drop_b", att));
    }
    // No bias on w: softmax over instances cancels it, so its gradient would always be 0.
    return a.mmul(weight("attention.w.weight", att, branches));
  }

  private SDVariable dropout(SDVariable v, String name, int width) {
    masks.add(new Mask(name, width));
    return v.mul(sd.placeHolder(name, dt, -1, width));
  }

  /** The constant column e_c of length {@code size}: {@code v.mmul(e_c)} is v's column c. */
  /** Column maxima of {@code v} [n, width], correct for n = 1 (see {@link #pooled}). */
  private SDVariable maxOverInstances(SDVariable v, int width) {
    SDVariable low = sd.constant(Nd4j.valueArrayOf(new long[] {1, width}, -1e30, dt));
    return sd.concat(0, v, low).max(true, 0);
  }

  private SDVariable unit(int size, int c) {
    return sd.constant(Nd4j.zeros(dt, size, 1).putScalar(c, 0, 1.0));
  }

  private SDVariable bagLoss(SDVariable logits) {
    return Losses.bagLoss(sd, cfg.loss(), logits, onehot, cfg.classWeights(), cfg.focalAlpha(),
        cfg.focalGamma());
  }

  private void classMaps() {
    for (int c = 0; c < cfg.numClasses(); c++) {
      mapNames.add("class_" + c);
    }
  }

  private void finish(SDVariable logits, SDVariable loss) {
    sd.nn.softmax("probs", logits, 1);
    sd.identity("loss", loss);
    sd.setLossVariables("loss");
  }

  private SDVariable weight(String name, long in, long out) {
    return param(name, Init.WEIGHT, in, out);
  }

  private SDVariable bias(String name, long size) {
    return param(name, Init.ZERO, size);
  }

  private SDVariable param(String name, Init init, long... shape) {
    ParamInfo info = new ParamInfo(name, shape, numParams);
    layout.add(info);
    inits.add(init);
    numParams = Math.addExact(numParams, info.size());
    return sd.var(name, Nd4j.zeros(dt, shape));
  }
}
