#!/usr/bin/python3
"""Baseline for bench/embed: the embed stage in PyTorch on the same tiles.

Reads every tile listed in the CSV with python-openslide (read_region + RGB), resizes 256 -> 224
(PIL box filter), normalises with ImageNet statistics, and runs the encoder (random weights, eval
mode) in batches: --model resnet50-trunc (torchvision's ResNet-50 up to its third stage plus global
average pooling) or vit_b_16 (torchvision's ViT-B/16, class token after the final LayerNorm; under
inference_mode PyTorch runs its fused attention). Threads are set by --threads. Prints one JSON
line: {"tiles": N, "seconds": S, "tiles_per_s": R}.
"""
import argparse
import csv
import json
import time

import numpy as np
import openslide
import torch
import torchvision
from PIL import Image


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tiles_csv")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--input", type=int, default=224)
    ap.add_argument("--model", default="resnet50-trunc", choices=("resnet50-trunc", "vit_b_16"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    if args.model == "vit_b_16":
        trunk = torchvision.models.vit_b_16(weights=None, image_size=args.input)
        trunk.heads = torch.nn.Identity()
        trunk = trunk.eval()
    else:
        net = torchvision.models.resnet50(weights=None).eval()
        trunk = torch.nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1,
                                    net.layer2, net.layer3, torch.nn.AdaptiveAvgPool2d(1),
                                    torch.nn.Flatten())
    mean = np.array([0.485, 0.456, 0.406], dtype=np.float32)
    std = np.array([0.229, 0.224, 0.225], dtype=np.float32)

    with open(args.tiles_csv) as f:
        rows = list(csv.DictReader(f))
    slides = {}
    t0 = time.perf_counter()
    batch = []
    done = 0

    def flush():
        nonlocal done
        x = torch.from_numpy(np.stack(batch))
        with torch.inference_mode():
            trunk(x).numpy()
        done += len(batch)
        batch.clear()

    for r in rows:
        s = slides.get(r["path"])
        if s is None:
            s = slides[r["path"]] = openslide.OpenSlide(r["path"])
        size = int(r["size_at_level"])
        img = s.read_region((int(r["x"]), int(r["y"])), int(r["level"]), (size, size))
        img = img.convert("RGB").resize((args.input, args.input), Image.BOX)
        a = (np.asarray(img, dtype=np.float32) / 255.0 - mean) / std
        batch.append(a.transpose(2, 0, 1).copy())
        if len(batch) == args.batch:
            flush()
    if batch:
        flush()
    secs = time.perf_counter() - t0
    print(json.dumps({"tiles": done, "seconds": secs, "tiles_per_s": done / secs}))


if __name__ == "__main__":
    main()
