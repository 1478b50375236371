"""The baseline for bench/patch-step: small-cnn (4 x conv3x3 without bias, BatchNorm2d, ReLU,
MaxPool2d(2); channels 32, 64, 128, 256; global average pooling) with a 2-class linear classifier
in PyTorch, one training step (forward, cross-entropy, backward) per repetition. Prints the
median step seconds."""
import argparse
import statistics
import sys
import time

import torch


def small_cnn(classes=2):
    layers = []
    cin = 3
    for i in range(1, 5):
        cout = 16 << i
        layers += [torch.nn.Conv2d(cin, cout, 3, padding=1, bias=False), torch.nn.BatchNorm2d(cout),
                   torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
        cin = cout
    layers += [torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(cin, classes)]
    return torch.nn.Sequential(*layers)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--reps", type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = small_cnn().train()
    x = torch.randn(a.batch, 3, a.size, a.size)
    y = torch.arange(a.batch) % 2
    seconds = []
    for i in range(a.warmup + a.reps):
        t0 = time.perf_counter()
        model.zero_grad(set_to_none=False)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        if i >= a.warmup:
            seconds.append(time.perf_counter() - t0)
    print("baseline: step seconds %s" % sorted(seconds), file=sys.stderr)
    print(statistics.median(seconds))


if __name__ == "__main__":
    main()
