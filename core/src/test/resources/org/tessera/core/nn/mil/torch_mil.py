"""Reference MIL heads in PyTorch (float64) for MilGoldenTest.

Reads a JSON case list (config, layout, flat parameters, bag, label) and writes, per case, the
class probabilities, the loss and the gradient of the loss with respect to every parameter, flat in
the same layout. Weight matrices are [in, out] as in the Java heads (y = x @ W + b).
Usage: torch_mil.py cases.json out.json
"""
import json
import sys

import torch

torch.set_default_dtype(torch.float64)


def unflatten(layout, flat):
    params, tensors = {}, []
    for entry in layout:
        size = 1
        for d in entry["shape"]:
            size *= d
        t = torch.tensor(flat[entry["offset"]:entry["offset"] + size]).reshape(entry["shape"])
        t.requires_grad_(True)
        params[entry["name"]] = t
        tensors.append(t)
    return params, tensors


def dense(x, p, name):
    return x @ p[name + ".weight"] + p[name + ".bias"]


def bag_loss(cfg, logits, y):
    log_p = torch.log_softmax(logits, dim=0)[y]
    kind = cfg["loss"]
    if kind == "ce":
        return -log_p
    if kind == "weighted-ce":
        return -cfg["classWeights"][y] * log_p
    if kind == "focal":
        return -cfg["focalAlpha"] * (1 - log_p.exp()) ** cfg["focalGamma"] * log_p
    if kind == "hinge":
        rivals = torch.cat([logits[:y], logits[y + 1:]])
        return torch.clamp(1 + rivals.max() - logits[y], min=0)
    raise ValueError(kind)


def clam_instance_loss(cfg, p, h, scores, y):
    classes = cfg["numClasses"]
    k = min(cfg["clamK"], h.shape[0])
    top = torch.topk(scores, k).indices
    bottom = torch.topk(-scores, k).indices
    subtyping = classes > 2
    total = 0.0
    for c in range(classes):
        name = "instance_classifiers.%d" % c
        if c == y:
            chosen = torch.cat([dense(h[top], p, name), dense(h[bottom], p, name)])
            targets = torch.cat([torch.ones(k), torch.zeros(k)]).long()
            total = total + torch.nn.functional.cross_entropy(chosen, targets)
        elif subtyping:
            total = total + torch.nn.functional.cross_entropy(dense(h[top], p, name),
                                                              torch.zeros(k).long())
    return total / classes if subtyping else total


def forward(cfg, p, x, y):
    h = torch.relu(dense(x, p, "fc"))
    a = torch.tanh(dense(h, p, "attention.V"))
    g = torch.sigmoid(dense(h, p, "attention.U"))
    scores = (a * g) @ p["attention.w.weight"]
    weights = torch.softmax(scores, dim=0)
    logits = dense(weights.t() @ h, p, "classifier")[0]
    loss = bag_loss(cfg, logits, y)
    if cfg["model"] == "clam-sb":
        c = cfg["clamInstanceWeight"]
        loss = (1 - c) * loss + c * clam_instance_loss(cfg, p, h, scores[:, 0], y)
    return torch.softmax(logits, dim=0), loss


def main():
    cases = json.load(open(sys.argv[1]))
    out = []
    for case in cases:
        cfg = case["config"]
        assert cfg["model"] in ("gated-abmil", "clam-sb"), cfg["model"]
        p, tensors = unflatten(case["layout"], case["params"])
        x = torch.tensor(case["features"]).reshape(case["n"], case["dim"])
        probs, loss = forward(cfg, p, x, case["label"])
        # Binary CLAM trains only the label's instance classifier: the others get zeros.
        grads = torch.autograd.grad(loss, tensors, allow_unused=True)
        grads = [torch.zeros_like(t) if g is None else g for g, t in zip(grads, tensors)]
        out.append({"probs": probs.tolist(), "loss": loss.item(),
                    "grad": torch.cat([g.reshape(-1) for g in grads]).tolist()})
    json.dump(out, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
