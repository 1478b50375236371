#!/usr/bin/python3
"""Baseline for bench/tiling: a CLAM-style tiling loop in Python with OpenSlide.

Segments tissue on a low-resolution level the way CLAM's create_patches_fp.py does by default
(HSV saturation, 7x7 median blur, fixed saturation threshold 8 -- or Otsu with --threshold otsu --,
4x4 morphological closing), lays a grid of tiles at the target resolution, keeps tiles whose tissue
fraction reaches the threshold and reads each kept tile's pixels as RGB bytes, the way CLAM's
patching and feature-extraction scripts do (read_region(...).convert('RGB') -> numpy).

Single process, single thread: the throughput is per core. Slides are processed one after the
other in this one process, as Tessera's tile stage on local[1] does.

Only numpy and PIL are used next to openslide (Debian's /usr/bin/python3 has them; OpenCV and
scipy are not assumed), so CLAM's contour filtering (debris and hole areas) is left out; on the
synthetic benchmark slides it would change nothing but add Python-side work.

Prints one JSON line: {"tiles": N, "seconds": S, "tiles_per_s": R, "slides": {...}, ...}.
With --profile it adds the seconds spent in each step of the per-tile path.
"""
import argparse
import json
import os
import sys
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


def box_sum(mask, k):
    """Sums of every k x k window of mask: one per window position, so (h-k+1) x (w-k+1)."""
    integral = np.pad(mask.astype(np.int32).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    h = mask.shape[0] - k + 1
    w = mask.shape[1] - k + 1
    return (integral[k:k + h, k:k + w] - integral[0:h, k:k + w]
            - integral[k:k + h, 0:w] + integral[0:h, 0:w])


def close(mask, k):
    """Binary closing with a k x k square (OpenCV's MORPH_CLOSE): dilate, then erode."""
    if k <= 1:
        return mask
    before, after = k // 2, k - 1 - k // 2
    # Dilation sees nothing outside the image; erosion treats outside as set, as OpenCV does.
    dilated = box_sum(np.pad(mask, ((before, after), (before, after))), k) > 0
    padded = np.pad(dilated, ((after, before), (after, before)), constant_values=True)
    return box_sum(padded, k) == k * k


def tissue_mask(slide, seg_downsample, threshold, median, close_kernel):
    seg_level = slide.get_best_level_for_downsample(seg_downsample)
    seg_ds = slide.level_downsamples[seg_level]
    thumb = slide.read_region((0, 0), seg_level, slide.level_dimensions[seg_level]).convert("RGB")
    sat = np.asarray(thumb.convert("HSV"))[:, :, 1]
    if median > 1:
        sat = np.asarray(Image.fromarray(sat).filter(ImageFilter.MedianFilter(median)))
    t = otsu(sat) if threshold == "otsu" else int(threshold)
    mask = close(sat > t, close_kernel)
    return mask, seg_ds


def tile_slide(path, args, steps):
    slide = openslide.OpenSlide(path)
    mpp = slide.properties.get(openslide.PROPERTY_NAME_MPP_X)
    mpp = float(mpp) if mpp else args.assume_mpp
    if mpp is None:
        raise SystemExit(f"{path}: no MPP in the metadata; pass --assume-mpp")
    wanted = args.mpp / mpp
    level = max((i for i, d in enumerate(slide.level_downsamples) if d <= wanted * 1.01),
                key=lambda i: slide.level_downsamples[i])
    ds = slide.level_downsamples[level]
    size_at_level = args.tile if abs(wanted / ds - 1) <= 0.01 else round(args.tile * wanted / ds)

    mask, seg_ds = tissue_mask(slide, args.seg_downsample, args.threshold, args.median,
                               args.close)
    integral = np.pad(mask.cumsum(0).cumsum(1), ((1, 0), (1, 0)))

    w0, h0 = slide.dimensions
    foot = size_at_level * ds
    tiles = 0
    clock = time.perf_counter
    for y in np.arange(0, h0 - foot + 1, foot):
        for x in np.arange(0, w0 - foot + 1, foot):
            x0, y0 = int(x / seg_ds), int(y / seg_ds)
            x1 = min(mask.shape[1], max(x0 + 1, int((x + foot) / seg_ds)))
            y1 = min(mask.shape[0], max(y0 + 1, int((y + foot) / seg_ds)))
            area = (x1 - x0) * (y1 - y0)
            inside = integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]
            if inside / area < args.min_tissue:
                continue
            tiles += 1
            if args.no_read:
                continue
            if steps is None:
                region = slide.read_region((int(round(x)), int(round(y))), level,
                                           (size_at_level, size_at_level)).convert("RGB")
                if size_at_level != args.tile:
                    region = region.resize((args.tile, args.tile), Image.BOX)
                np.asarray(region).tobytes()
            else:
                t0 = clock()
                rgba = slide.read_region((int(round(x)), int(round(y))), level,
                                         (size_at_level, size_at_level))
                t1 = clock()
                region = rgba.convert("RGB")
                if size_at_level != args.tile:
                    region = region.resize((args.tile, args.tile), Image.BOX)
                t2 = clock()
                np.asarray(region).tobytes()
                t3 = clock()
                steps["read_region (native read + unpremultiply + PIL image)"] += t1 - t0
                steps["convert RGB"] += t2 - t1
                steps["numpy array + bytes"] += t3 - t2
    slide.close()
    return tiles


def slide_paths(inputs):
    paths = []
    for p in inputs:
        if os.path.isdir(p):
            paths += sorted(os.path.join(p, f) for f in os.listdir(p)
                            if f.lower().endswith((".svs", ".tif", ".tiff", ".ndpi", ".mrxs")))
        else:
            paths.append(p)
    if not paths:
        raise SystemExit("no slides in " + " ".join(inputs))
    return paths


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("slides", nargs="+", help="slide files or folders of slides")
    ap.add_argument("--mpp", type=float, default=0.5)
    ap.add_argument("--assume-mpp", type=float, default=None)
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--min-tissue", type=float, default=0.5)
    ap.add_argument("--seg-downsample", type=float, default=16)
    ap.add_argument("--threshold", default="8",
                    help="saturation threshold, or 'otsu' (CLAM's default: fixed 8)")
    ap.add_argument("--median", type=int, default=7)
    ap.add_argument("--close", type=int, default=4)
    ap.add_argument("--no-read", action="store_true",
                    help="tissue and grid only: count the kept tiles without reading pixels")
    ap.add_argument("--profile", action="store_true",
                    help="also time each step of the per-tile path (adds a little overhead)")
    args = ap.parse_args()

    paths = slide_paths(args.slides)
    steps = None
    if args.profile:
        steps = {"read_region (native read + unpremultiply + PIL image)": 0.0,
                 "convert RGB": 0.0, "numpy array + bytes": 0.0}
    t0 = time.perf_counter()
    per_slide = {}
    for p in paths:
        per_slide[os.path.splitext(os.path.basename(p))[0]] = tile_slide(p, args, steps)
    secs = time.perf_counter() - t0
    tiles = sum(per_slide.values())
    result = {"tiles": tiles, "seconds": secs, "tiles_per_s": tiles / secs, "slides": per_slide}
    if steps is not None:
        result["steps_seconds"] = steps
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
