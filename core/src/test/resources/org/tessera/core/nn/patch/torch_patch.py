"""Reference for PatchNetGoldenTest: small-cnn + linear classifier, one training-mode forward and
backward in float64 with torch's own BatchNorm2d, Conv2d, MaxPool2d and cross-entropy.

Usage: torch_patch.py IN.json OUT.json. IN holds the state dict (values and shapes), the NCHW input
and the labels; OUT gets the logits, loss, input gradient, every parameter gradient and the running
statistics after the forward, all by PyTorch name."""
import json
import sys

import torch
from torch import nn

torch.set_default_dtype(torch.float64)


class SmallCnn(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        cin = 3
        for i in range(1, 5):
            cout = 16 << i
            block = nn.Module()
            block.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
            block.bn = nn.BatchNorm2d(cout)
            setattr(self, f"block{i}", block)
            cin = cout
        self.classifier = nn.Linear(256, num_classes)

    def forward(self, x):
        for i in range(1, 5):
            b = getattr(self, f"block{i}")
            x = nn.functional.max_pool2d(torch.relu(b.bn(b.conv(x))), 2, 2)
        return self.classifier(x.mean(dim=(2, 3)))


def main():
    with open(sys.argv[1]) as f:
        case = json.load(f)
    state = {k: torch.tensor(v["values"]).reshape(v["shape"]) for k, v in case["state"].items()}
    net = SmallCnn(state["classifier.bias"].shape[0])
    missing, unexpected = net.load_state_dict(state, strict=False)
    assert not unexpected, unexpected
    assert all(k.endswith("num_batches_tracked") for k in missing), missing
    net.train()
    x = torch.tensor(case["x"]).reshape(case["x_shape"]).requires_grad_(True)
    labels = torch.tensor(case["labels"])
    logits = net(x)
    loss = nn.functional.cross_entropy(logits, labels)
    loss.backward()
    out = {
        "logits": logits.detach().flatten().tolist(),
        "loss": loss.item(),
        "dx": x.grad.flatten().tolist(),
        "grads": {k: p.grad.flatten().tolist() for k, p in net.named_parameters()},
        "buffers": {k: b.flatten().tolist() for k, b in net.named_buffers()
                    if not k.endswith("num_batches_tracked")},
    }
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
