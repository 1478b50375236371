#!/usr/bin/python3
"""Baseline for bench/tiling: a CLAM-style tiling loop in Python with OpenSlide.

Segments tissue on a low-resolution level (HSV saturation, median blur, Otsu threshold,
morphological closing), lays a grid of tiles at the target resolution, keeps tiles whose tissue
fraction reaches the threshold and reads each kept tile's pixels as an RGB array, the way CLAM's
patching scripts do. Single process, single thread: the throughput is per core.

Prints one JSON line: {"tiles": N, "seconds": S, "tiles_per_s": R}.
"""
import argparse
import json
import time

import numpy as np
import openslide
from PIL import Image, ImageFilter


def otsu(values):
    hist = np.bincount(values.ravel(), minlength=256).astype(np.float64)
    total = hist.sum()
    cum = np.cumsum(hist)
    cum_mean = np.cumsum(hist * np.arange(256))
    best_t, best_var = 0, -1.0
    for t in range(256):
        w0 = cum[t]
        w1 = total - w0
        if w0 == 0 or w1 == 0:
            continue
        m0 = cum_mean[t] / w0
        m1 = (cum_mean[-1] - cum_mean[t]) / w1
        var = w0 * w1 * (m0 - m1) ** 2
        if var > best_var:
            best_t, best_var = t, var
    return best_t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("slide")
    ap.add_argument("--mpp", type=float, default=0.5)
    ap.add_argument("--assume-mpp", type=float, default=None)
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--min-tissue", type=float, default=0.5)
    ap.add_argument("--seg-downsample", type=float, default=16)
    args = ap.parse_args()

    t0 = time.perf_counter()
    slide = openslide.OpenSlide(args.slide)
    mpp = slide.properties.get(openslide.PROPERTY_NAME_MPP_X)
    mpp = float(mpp) if mpp else args.assume_mpp
    wanted = args.mpp / mpp
    level = max((i for i, d in enumerate(slide.level_downsamples) if d <= wanted * 1.01),
                key=lambda i: slide.level_downsamples[i])
    ds = slide.level_downsamples[level]
    size_at_level = args.tile if abs(wanted / ds - 1) <= 0.01 else round(args.tile * wanted / ds)

    seg_level = slide.get_best_level_for_downsample(args.seg_downsample)
    seg_ds = slide.level_downsamples[seg_level]
    thumb = slide.read_region((0, 0), seg_level, slide.level_dimensions[seg_level]).convert("RGB")
    sat = np.asarray(thumb.convert("HSV"))[:, :, 1]
    sat = np.asarray(Image.fromarray(sat).filter(ImageFilter.MedianFilter(7)))
    mask = Image.fromarray(((sat > otsu(sat)) * 255).astype(np.uint8))
    mask = mask.filter(ImageFilter.MaxFilter(5)).filter(ImageFilter.MinFilter(5))
    mask = np.asarray(mask) > 0
    integral = np.pad(mask.cumsum(0).cumsum(1), ((1, 0), (1, 0)))

    w0, h0 = slide.dimensions
    foot = size_at_level * ds
    tiles = 0
    for y in np.arange(0, h0 - foot + 1, foot):
        for x in np.arange(0, w0 - foot + 1, foot):
            x0, y0 = int(x / seg_ds), int(y / seg_ds)
            x1, y1 = max(x0 + 1, int((x + foot) / seg_ds)), max(y0 + 1, int((y + foot) / seg_ds))
            area = (x1 - x0) * (y1 - y0)
            inside = integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]
            if inside / area < args.min_tissue:
                continue
            region = slide.read_region((int(round(x)), int(round(y))), level,
                                       (size_at_level, size_at_level)).convert("RGB")
            if size_at_level != args.tile:
                region = region.resize((args.tile, args.tile), Image.BOX)
            np.asarray(region).tobytes()
            tiles += 1
    secs = time.perf_counter() - t0
    print(json.dumps({"tiles": tiles, "seconds": secs, "tiles_per_s": tiles / secs}))


if __name__ == "__main__":
    main()
