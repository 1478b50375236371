"""NumPy reference for org.tessera.core.image, written from the documented arithmetic only, so the
Java implementation is checked against an independent one rather than against itself.

  numpy_reference.py DIR W H

reads DIR/tile.rgb (W*H*3 uint8, row-major RGB) and writes
  DIR/chw.f32        ImageNet-normalised float32 CHW values (little-endian), W == H required
  DIR/reinhard.rgb   Reinhard normalisation to HistomicsTK's target, uint8 RGB
  DIR/macenko.rgb    Macenko normalisation to the default reference, uint8 RGB
  DIR/stats.txt      "reinhard" + six lalphabeta statistics and "macenko" + eight stain values,
                     or the word "none" where the tile is left unchanged; doubles as repr()
"""
import sys

import numpy as np

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)

RGB_TO_LMS = np.array([[0.3811, 0.5783, 0.0402],
                       [0.1967, 0.7244, 0.0782],
                       [0.0241, 0.1288, 0.8444]])
LOG_LMS_TO_LAB = np.diag([1 / np.sqrt(3), 1 / np.sqrt(6), 1 / np.sqrt(2)]) @ np.array(
    [[1, 1, 1], [1, 1, -2], [1, -1, 0]])
TARGET_MEAN = np.array([8.63234435, -0.11501964, 0.03868433])
TARGET_STD = np.array([0.57506023, 0.10403329, 0.01364062])
BACKGROUND, FULL = 215, 195
MIN_TISSUE, MIN_STD = 64, 1e-3

IO, ALPHA, BETA = 240.0, 1.0, 0.15
REF_STAINS = np.array([[0.5626, 0.2159], [0.7201, 0.8012], [0.4062, 0.5581]])
REF_MAX = np.array([1.9705, 1.0308])
MIN_MAX_CONCENTRATION, MIN_ANGLE = 0.05, 5.0


def min_tissue(n):
    return max(MIN_TISSUE, (n + 99) // 100)


def chw(rgb, w, h):
    x = (rgb.astype(np.float32) / np.float32(255) - IMAGENET_MEAN) / IMAGENET_STD
    return x.reshape(h, w, 3).transpose(2, 0, 1).astype('<f4')


def reinhard(rgb):
    darkest = rgb.min(axis=1)
    tissue = darkest < BACKGROUND
    lab = (LOG_LMS_TO_LAB @ np.log(np.maximum(RGB_TO_LMS @ rgb.T, 1))).T
    if tissue.sum() < min_tissue(len(rgb)):
        return rgb, None
    mean, std = lab[tissue].mean(axis=0), lab[tissue].std(axis=0)
    if (std < MIN_STD).any():
        return rgb, None
    mapped = (lab - mean) * TARGET_STD / std + TARGET_MEAN
    out = np.linalg.inv(RGB_TO_LMS) @ np.exp(LOG_LMS_TO_LAB.T @ mapped.T)
    out = np.clip(out.T, 0, 255)
    weight = np.clip((BACKGROUND - darkest) / (BACKGROUND - FULL), 0, 1)[:, None]
    out = np.floor(weight * out + (1 - weight) * rgb + 0.5)
    out[~tissue] = rgb[~tissue]
    return out, np.concatenate([mean, std])


def macenko(rgb):
    od = -np.log((rgb + 1) / IO)
    tissue = od[(od >= BETA).all(axis=1)]
    if len(tissue) < min_tissue(len(rgb)):
        return rgb, None
    values, vectors = np.linalg.eigh(np.cov(tissue.T))
    first, second = values[2], values[1]
    if not (second > 1e-9 and second > 1e-6 * first):
        return rgb, None
    v1, v2 = vectors[:, 2], vectors[:, 1]
    v1 = -v1 if v1.sum() < 0 else v1
    v2 = -v2 if v2.sum() < 0 else v2
    phi = np.arctan2(tissue @ v2, tissue @ v1)
    low, high = np.percentile(phi, [ALPHA, 100 - ALPHA])
    a = np.cos(low) * v1 + np.sin(low) * v2
    b = np.cos(high) * v1 + np.sin(high) * v2
    h, e = (a, b) if a[0] >= b[0] else (b, a)
    if np.degrees(np.arccos(np.clip(h @ e, -1, 1))) < MIN_ANGLE:
        return rgb, None
    stains = np.stack([h, e], axis=1)
    conc = np.linalg.lstsq(stains, tissue.T, rcond=None)[0]
    max_c = np.percentile(conc, 99, axis=1)
    if (max_c < MIN_MAX_CONCENTRATION).any():
        return rgb, None
    all_conc = np.linalg.lstsq(stains, od.T, rcond=None)[0] * (REF_MAX / max_c)[:, None]
    out = IO * np.exp(-REF_STAINS @ all_conc) - 1
    return np.clip(np.floor(out.T + 0.5), 0, 255), np.concatenate([h, e, max_c])


def main():
    folder, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rgb = np.fromfile(folder + '/tile.rgb', dtype=np.uint8).reshape(w * h, 3).astype(np.float64)
    if w == h:
        chw(rgb, w, h).tofile(folder + '/chw.f32')
    lines = []
    for name, method in (('reinhard', reinhard), ('macenko', macenko)):
        out, stats = method(rgb)
        out.astype(np.uint8).tofile(folder + '/' + name + '.rgb')
        lines.append(name + ' ' + ('none' if stats is None else ' '.join(map(repr, stats.tolist()))))
    with open(folder + '/stats.txt', 'w') as f:
        f.write('\n'.join(lines) + '\n')


if __name__ == '__main__':
    main()
