#!/usr/bin/python3
"""Driver of bench/tiling (run it through bench/tiling/run, which builds and makes the slides).

Runs Tessera's tile stage and the CLAM-style baseline (clam_style.py) side by side on the same
slides, one core each, in two modes:

  full  tissue + grid + every kept tile's pixels as RGB bytes (Tessera: --store-pixels
        --pixel-format raw, so its time also covers writing them to Parquet; the baseline only
        produces the bytes in memory)
  grid  tissue + grid only (Tessera without --store-pixels, the baseline with --no-read)

Each side gets one untimed warm-up run per mode (page cache, build), then the timed runs alternate
between the sides. Medians are printed. Tessera's throughput is taken from the stage time in its
summary JSON (no JVM or Spark start-up), the baseline's from its own clock (no interpreter start-up
or imports); both end-to-end wall times and the CPU time of each process are reported as well.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def run_timed(cmd, env, log):
    """Runs cmd with stderr to log; returns (wall seconds, stdout). Fails loudly on an error."""
    t0 = time.perf_counter()
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
        out, _ = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        with open(log) as f:
            tail = f.read()[-3000:]
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n"
                         f"{out[-2000:]}\n{tail}")
    return wall, out


class Cpu:
    """CPU seconds (user + system) used by children that finished since the last call."""

    def __init__(self):
        self.last = self._now()

    @staticmethod
    def _now():
        r = os.times()
        return r.children_user + r.children_system

    def take(self):
        now = self._now()
        spent, self.last = now - self.last, now
        return spent


def tessera(args, mode, env, cpu, label):
    out_dir = os.path.join(args.work, f"out-{mode}")
    summary = os.path.join(args.work, f"summary-{mode}.json")
    shutil.rmtree(out_dir, ignore_errors=True)
    if os.path.exists(summary):
        os.remove(summary)
    cmd = args.pin + [os.path.join(args.tessera, "bin", "tessera"), "tile",
                      "--slides", args.slides, "--out", out_dir,
                      "--assume-mpp", "0.5", "--mpp", "0.5", "--tile", "256",
                      "--min-tissue", "0.5", "--master", "local[1]", "--summary-json", summary,
                      "--reader", args.reader]
    if mode == "full":
        cmd += ["--store-pixels", "--pixel-format", "raw"]
    log = os.path.join(args.work, f"tessera-{mode}-{label}.log")
    cpu.take()
    wall, _ = run_timed(cmd, env, log)
    used = cpu.take()
    with open(log) as f:
        if "tessera: building" in f.read():
            raise SystemExit("bin/tessera rebuilt the project inside a timed run; run the benchmark"
                             " again (the build is done now)")
    with open(summary) as f:
        s = json.load(f)
    if s["failed"] or s["ok"] != s["listed"]:
        raise SystemExit(f"Tessera failed on some slides: {s['failures']}")
    shutil.rmtree(out_dir, ignore_errors=True)
    return {"tiles": s["tiles"], "seconds": s["seconds"], "wall": wall, "cpu": used}


def baseline(args, mode, env, cpu, label):
    cmd = args.pin + [args.python, os.path.join(HERE, "clam_style.py"), args.slides,
                      "--assume-mpp", "0.5", "--mpp", "0.5", "--tile", "256", "--min-tissue", "0.5"]
    if mode == "grid":
        cmd.append("--no-read")
    log = os.path.join(args.work, f"baseline-{mode}-{label}.log")
    cpu.take()
    wall, out = run_timed(cmd, env, log)
    used = cpu.take()
    r = json.loads(out.strip().splitlines()[-1])
    return {"tiles": r["tiles"], "seconds": r["seconds"], "wall": wall, "cpu": used,
            "slides": r["slides"]}


def med(runs, key):
    return statistics.median(r[key] for r in runs)


def line(name, ours, base):
    ratio = ours / base if base else float("nan")
    print(f"{name}: ours {ours:.1f}, baseline {base:.1f}, ratio {ratio:.2f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slides", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--tessera", required=True, help="Tessera checkout whose bin/tessera runs")
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--pin-cpu", default="", help="CPU to pin both sides to with taskset")
    ap.add_argument("--modes", default="grid,full")
    ap.add_argument("--reader", default="auto", help="Tessera's --reader: auto, direct or openslide")
    args = ap.parse_args()
    if args.repeats < 1:
        raise SystemExit("--repeats must be >= 1")
    args.pin = ["taskset", "-c", args.pin_cpu] if args.pin_cpu else []

    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
        env[var] = "1"

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load"
          f" average {os.getloadavg()[0]:.2f} at start; both sides "
          + (f"pinned to CPU {args.pin_cpu} (taskset)" if args.pin else "not pinned (BENCH_PIN=0)")
          + "; Tessera --master local[1] --reader " + args.reader
          + ", baseline one process, one thread")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    results = {}
    cpu = Cpu()
    for mode in modes:
        print(f"[{mode}] warm-up runs ...", flush=True)
        tessera(args, mode, env, cpu, "warmup")
        baseline(args, mode, env, cpu, "warmup")
        ours, base = [], []
        for i in range(args.repeats):
            # Alternate which side goes first so slow drift on a shared machine hits both alike.
            first_ours = i % 2 == 0
            for side in ("ours", "base") if first_ours else ("base", "ours"):
                if side == "ours":
                    ours.append(tessera(args, mode, env, cpu, str(i)))
                else:
                    base.append(baseline(args, mode, env, cpu, str(i)))
            print(f"[{mode}] run {i + 1}/{args.repeats}: ours {ours[-1]['tiles']} tiles in"
                  f" {ours[-1]['seconds']:.2f} s stage ({ours[-1]['wall']:.2f} s wall,"
                  f" {ours[-1]['cpu']:.2f} s CPU); baseline {base[-1]['tiles']} tiles in"
                  f" {base[-1]['seconds']:.2f} s ({base[-1]['wall']:.2f} s wall,"
                  f" {base[-1]['cpu']:.2f} s CPU)", flush=True)
        results[mode] = {"ours": ours, "baseline": base}

    names = {"full": "full extraction", "grid": "grid only"}
    print()
    print(f"medians of {args.repeats} runs, one core each, in tiles/s (ratio = ours / baseline):")
    print("  plain: stage time (Tessera's summary JSON; the baseline's own clock)")
    print("  wall: the whole command, JVM and Spark or interpreter start-up included")
    print("  cpu: tiles per CPU-second of the process, all its threads (JIT and GC too)")
    for mode in modes:
        ours, base = results[mode]["ours"], results[mode]["baseline"]
        t_o, t_b = ours[0]["tiles"], base[0]["tiles"]
        n = names[mode]
        line(n, t_o / med(ours, "seconds"), t_b / med(base, "seconds"))
        line(f"{n} wall", t_o / med(ours, "wall"), t_b / med(base, "wall"))
        line(f"{n} cpu", t_o / med(ours, "cpu"), t_b / med(base, "cpu"))
    if "full" in results and "grid" in results:
        # What reading the pixels adds per tile, without the per-slide fixed costs (tissue, QC).
        f, g = results["full"], results["grid"]
        ours_px = med(f["ours"], "seconds") - med(g["ours"], "seconds")
        base_px = med(f["baseline"], "seconds") - med(g["baseline"], "seconds")
        if ours_px <= 0 or base_px <= 0:
            print("pixel path (full minus grid): not measurable, full runs were not slower than"
                  " grid runs (too few tiles, or too noisy a machine)")
        else:
            line("pixel path (full minus grid)",
                 f["ours"][0]["tiles"] / ours_px, f["baseline"][0]["tiles"] / base_px)
            print(f"  = {1000 * ours_px / f['ours'][0]['tiles']:.2f} ms/tile ours (read, composite,"
                  f" raw bytes, Parquet write), {1000 * base_px / f['baseline'][0]['tiles']:.2f}"
                  " ms/tile baseline (read_region, convert('RGB'), numpy bytes)")
    print()
    for mode in modes:
        t_o = results[mode]["ours"][0]["tiles"]
        t_b = results[mode]["baseline"][0]["tiles"]
        counts = {r["tiles"] for r in results[mode]["ours"]} | {t_o}
        diff = 100.0 * (t_o - t_b) / max(t_b, 1)
        print(f"tiles ({names[mode]}): ours {t_o}, baseline {t_b} ({diff:+.1f}%; per slide"
              f" baseline {results[mode]['baseline'][0]['slides']})"
              + ("" if len(counts) == 1 else f"  WARNING: ours varied between runs: {counts}"))
    print("  Counts may differ slightly because the tissue masks do: Tessera's default preset is"
          " Otsu with hysteresis down\n  to saturation 8, closing and hole filling; the baseline"
          " is CLAM's default (fixed saturation threshold 8,\n  7x7 median, 4x4 closing). Grids,"
          " target resolution and the 0.5 tissue-fraction rule are the same.")
    with open(os.path.join(args.work, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(f"raw runs: {os.path.join(args.work, 'results.json')}")


if __name__ == "__main__":
    sys.exit(main())
