"""The baseline for bench/mil-step: the same gated-attention head (fc 1024->512 + ReLU +
dropout, tanh/sigmoid gated attention 256 with dropout, linear classifier, cross-entropy) in
PyTorch, one bag per step, forward + backward. Prints the median steps/s."""
import argparse
import statistics
import sys
import time

import torch


class GatedAttentionMil(torch.nn.Module):
    def __init__(self, dim, hidden=512, att=256, classes=2, dropout=0.25):
        super().__init__()
        self.fc = torch.nn.Sequential(torch.nn.Linear(dim, hidden), torch.nn.ReLU(),
                                      torch.nn.Dropout(dropout))
        self.v = torch.nn.Sequential(torch.nn.Linear(hidden, att), torch.nn.Tanh(),
                                     torch.nn.Dropout(dropout))
        self.u = torch.nn.Sequential(torch.nn.Linear(hidden, att), torch.nn.Sigmoid(),
                                     torch.nn.Dropout(dropout))
        self.w = torch.nn.Linear(att, 1, bias=False)
        self.classifier = torch.nn.Linear(hidden, classes)

    def forward(self, x):
        h = self.fc(x)
        a = torch.softmax(self.w(self.v(h) * self.u(h)), dim=0)
        return self.classifier(a.t() @ h)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--dim", type=int, default=1024)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--reps", type=int, default=10)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = GatedAttentionMil(a.dim).train()
    x = torch.randn(a.n, a.dim)
    y = torch.tensor([1])
    seconds = []
    for i in range(a.warmup + a.reps):
        t0 = time.perf_counter()
        model.zero_grad(set_to_none=False)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        if i >= a.warmup:
            seconds.append(time.perf_counter() - t0)
    print("baseline: step seconds %s" % sorted(seconds), file=sys.stderr)
    print(1 / statistics.median(seconds))


if __name__ == "__main__":
    main()
