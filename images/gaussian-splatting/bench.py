"""Caliterra training benchmark (npm run bench:train): the two CPU backends side by side.

Data: the first 16 caliterra photos (IMG_9354-IMG_9369), IMG_9361 held out. The SfM model
comes from the SfM stage's own entry program (images/sfm/entrypoint.sh), run once and cached
under .bench/gaussian-splatting/; --sfm DIR uses another SfM output folder instead.

Settings (--settings, comma-separated):
  opensplat  OpenSplat's defaults on 400x300 input: coarse-to-fine (--num-downscales 2,
             --resolution-schedule 3000), so below step 3000 it trains, and renders its
             validation image, at 100x75; scored at 100x75 and at 400x300
  400        400x300 throughout (num_downscales=0)
  800        800x600 throughout
Both use OpenSplat's other defaults (densify from step 500 every 100, opacity reset every
3000, SH degree +1 every 1000, 0.2 D-SSIM). Rows (--variants, comma-separated): cpp and torch
(the two CPU backends), mcmc (the compiled backend with MCMC densification instead of the
default strategy); each runs the same setting and seed one after the other, so their ratio is
measured under the same machine load. --seeds N repeats every run with seeds 0..N-1 and prints
mean +- sample standard deviation. OpenSplat (the peer, never part of this repository) runs
beside them on the same SfM model and held-out photo when SPACEPORT_OPENSPLAT names its binary
(bench_peer.py), its PLY scored by the same evaluation; otherwise the bench says it was not run.

    python images/gaussian-splatting/bench.py [--steps 300] [--settings opensplat,400,800]
        [--variants cpp,torch,mcmc] [--seeds 1] [--sfm DIR] [--threads N] [--set KEY=VALUE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_peer import binary, run_opensplat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BENCH = ROOT / ".bench" / "gaussian-splatting"
PHOTOS = [f"IMG_{i}.jpg" for i in range(9354, 9370)]
HELD_OUT = "IMG_9361"
SETTINGS: dict[str, dict[str, str]] = {
    "opensplat": {"max_image_size": "400", "num_downscales": "2", "resolution_schedule": "3000"},
    "400": {"max_image_size": "400", "num_downscales": "0"},
    "800": {"max_image_size": "800", "num_downscales": "0"},
}


def dataset() -> Path:
    d = Path(os.environ.get("SPACEPORT_CALITERRA", ROOT.parent / "shared" / "datasets" / "caliterra"))
    missing = [p for p in PHOTOS if not (d / p).is_file()]
    if missing:
        sys.exit(f"bench: caliterra photos missing in {d} ({', '.join(missing[:3])}...); set SPACEPORT_CALITERRA")
    return d


def sfm_model() -> Path:
    """Runs the SfM stage on the 16 photos once; later runs reuse its output."""
    opt = BENCH / "sfm16"
    out = opt / "processing" / "output" / "sfm"
    if (out / "sparse" / "0" / "images.bin").is_file():
        return out
    photos = opt / "processing" / "input" / "photos"
    photos.mkdir(parents=True, exist_ok=True)
    src = dataset()
    for p in PHOTOS:
        link = photos / p
        if link.is_symlink():
            link.unlink()
        if not link.exists():
            # a hard link (the SfM stage refuses symbolic links); a copy under .bench/ (ignored)
            # only where the dataset is on another file system
            try:
                os.link(src / p, link)
            except OSError:
                shutil.copyfile(src / p, link)
    env = {**os.environ, "SPACEPORT_OPT_ML": str(opt), "SFM_MAX_IMAGE_SIZE": "800"}
    print(f"bench: running the SfM stage on {len(PHOTOS)} photos (cached in {opt})", flush=True)
    t = time.perf_counter()
    r = subprocess.run(["bash", str(ROOT / "images" / "sfm" / "entrypoint.sh")], env=env)
    if r.returncode != 0 or not (out / "sparse" / "0" / "images.bin").is_file():
        fail = opt / "output" / "failure"
        reason = fail.read_text().strip() if fail.exists() else f"exit status {r.returncode}"
        sys.exit(f"bench: the SfM stage failed ({reason}); pass --sfm DIR with a COLMAP model instead")
    print(f"bench: SfM done in {time.perf_counter() - t:.0f} s", flush=True)
    return out


def train(sfm: Path, steps: int, setting: str, variant: str, seed: int, threads: int, extra: dict[str, str]) -> dict[str, Any]:
    backend, variant_hyper = VARIANTS[variant]
    opt = BENCH / f"train-{setting}-{steps}-{variant}-s{seed}"
    (opt / "input" / "data").mkdir(parents=True, exist_ok=True)
    (opt / "input" / "config").mkdir(parents=True, exist_ok=True)
    link = opt / "input" / "data" / "sfm"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(sfm.resolve())
    for sub in ("model", "checkpoints", "output"):
        subprocess.run(["rm", "-rf", str(opt / sub)], check=True)
    hyper = {
        "quality": "preview",
        "steps": str(steps),
        "resolution_scale": "1",
        "resolution_schedule": "3000",
        # OpenSplat's defaults (see above)
        "refine_start": "500",
        "refine_every": "100",
        "refine_stop": "15000",
        "reset_every": "3000",
        "sh_degree_interval": "1000",
        "ssim_lambda": "0.2",
        "holdout": HELD_OUT,
        "sh_degree": "3",
        "max_gaussians": "1000000",
        "checkpoint_every": "0",
        "log_every": "50",
        "num_renders": "1",
        "threads": str(threads),
        "backend": backend,
        "seed": str(seed),
        **SETTINGS[setting],
        **variant_hyper,
        **extra,
    }
    (opt / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hyper))
    env = {**os.environ, "SPACEPORT_OPT_ML": str(opt), "SPACEPORT_PYTHON": sys.executable}
    print(f"bench: {setting} {steps} steps, {variant} (backend {backend}), seed {seed}", flush=True)
    t = time.perf_counter()
    with (opt / "train.log").open("w") as log:  # the trainer's progress lines, for a look while it runs
        r = subprocess.run(["bash", str(HERE / "entrypoint.sh"), "train"], env=env, stdout=log)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        fail = opt / "output" / "failure"
        sys.exit(f"bench: training failed: {fail.read_text().strip() if fail.exists() else r.returncode}")
    m: dict[str, Any] = json.loads((opt / "model" / "metrics.json").read_text())
    m["bench_wall_s"] = wall
    return m


def figures(m: dict[str, Any]) -> dict[str, float]:
    """The figures a row prints; PSNR/SSIM also at the resolution training ended at, if coarser."""
    low = m.get("at_training_resolution") or {"psnr": m["psnr"], "ssim": m["ssim"]}
    return {
        "s_step": m["s_per_step"], "cpu_s_step": m["cpu_s_per_step"], "psnr": m["psnr"], "ssim": m["ssim"],
        "psnr_low": low["psnr"], "ssim_low": low["ssim"], "gaussians": m["gaussians"], "peak_mb": m["peak_memory_mb"],
    }


# the rows a variant names: (backend, extra hyperparameters)
VARIANTS: dict[str, tuple[str, dict[str, str]]] = {
    "cpp": ("cpp", {}),
    "torch": ("torch", {}),
    "mcmc": ("cpp", {"strategy": "mcmc"}),
}


def spread(vals: list[float], fmt: str) -> str:
    """mean, or mean +- sample standard deviation over seeds"""
    mean = statistics.fmean(vals)
    if len(vals) == 1:
        return format(mean, fmt)
    return f"{format(mean, fmt)}+-{format(statistics.stdev(vals), fmt.lstrip('+'))}"


def print_table(title: str, runs: dict[str, list[dict[str, float]]], coarse: bool) -> None:
    print(f"\n== {title}")
    cols = ["s/step", "CPU s/step", "PSNR", "SSIM"] + (["PSNR@train res", "SSIM"] if coarse else []) + ["Gaussians", "peak MiB"]
    print(" | ".join(["row".ljust(9)] + [c.rjust(16) for c in cols]))
    for name, rows in runs.items():
        def col(key: str, fmt: str) -> str:
            vals = [r[key] for r in rows if r[key] == r[key]]  # NaN: not measured for this row
            return (spread(vals, fmt) if vals else "-").rjust(16)
        cells = [col("s_step", ".3f"), col("cpu_s_step", ".3f"), col("psnr", ".2f"), col("ssim", ".3f")]
        if coarse:
            cells += [col("psnr_low", ".2f"), col("ssim_low", ".3f")]
        cells += [col("gaussians", ".0f"), col("peak_mb", ".0f")]
        print(" | ".join([name.ljust(9)] + cells))
    print_ratios(runs)


def print_ratios(runs: dict[str, list[dict[str, float]]]) -> None:
    """Ratios per seed, between rows that ran back to back under the same load."""
    base = runs.get("cpp")
    if not base:
        return
    for other in ("torch", "mcmc", "opensplat"):
        if other not in runs:
            continue
        pairs = list(zip(base, runs[other]))
        sp = [o["s_step"] / c["s_step"] for c, o in pairs]
        dp = [c["psnr"] - o["psnr"] for c, o in pairs]
        mem = [o["peak_mb"] / c["peak_mb"] for c, o in pairs]
        cpu = [o["cpu_s_step"] / c["cpu_s_step"] for c, o in pairs]
        line = f"{other}/cpp: s/step x{spread(sp, '.2f')} (wall), x{spread(cpu, '.2f')} (CPU time)"
        if other == "mcmc":  # here the difference that matters is MCMC's over the default
            dp = [-d for d in dp]
        line += f"; PSNR {'mcmc-cpp' if other == 'mcmc' else 'cpp-' + other} {spread(dp, '+.2f')} dB; peak memory x{spread(mem, '.2f')}"
        print(line)


def run_all(a: argparse.Namespace, sfm: Path, variants: list[str], extra: dict[str, str]) -> dict[str, dict[str, list[dict[str, float]]]]:
    exe, why = binary()
    print(f"bench: OpenSplat {'at ' + why if exe else 'will not be run: ' + why}", flush=True)
    results: dict[str, dict[str, list[dict[str, float]]]] = {}
    for setting in a.settings.split(","):
        results[setting] = {v: [] for v in variants}
        for seed in range(a.seeds):
            for variant in variants:
                m = train(sfm, a.steps, setting, variant, seed, a.threads, extra)
                results[setting][variant].append(figures(m))
            if exe is not None and seed < a.peer_seeds:  # OpenSplat has no seed option: runs differ only by chance
                hyper = {k: v for k, v in SETTINGS[setting].items() if k == "max_image_size"}
                row = run_opensplat(exe, sfm, BENCH / f"opensplat-{setting}-{a.steps}-r{seed}", setting, a.steps, HELD_OUT, a.threads, {**hyper, "resolution_scale": "1"})
                results[setting].setdefault("opensplat", []).append(row)
    if exe is None:
        results["_peer"] = {}
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=300, help="training steps per run (default 300)")
    ap.add_argument("--settings", default="opensplat,400,800", help=f"comma-separated, of {', '.join(SETTINGS)}")
    ap.add_argument("--variants", default="cpp,torch,mcmc", help=f"comma-separated rows, of {', '.join(VARIANTS)}")
    ap.add_argument("--seeds", type=int, default=1, help="seeds per run, 0..N-1 (default 1)")
    ap.add_argument("--peer-seeds", type=int, default=1, help="OpenSplat runs per setting, at most --seeds (default 1)")
    ap.add_argument("--sfm", type=Path, help="an SfM output folder (sparse/0 + images/) instead of running the SfM stage")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads of every trainer (default 2; 0 = library default)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="extra hyperparameter")
    a = ap.parse_args()
    bad = [s for s in a.settings.split(",") if s not in SETTINGS] + [v for v in a.variants.split(",") if v not in VARIANTS]
    if bad:
        sys.exit(f"bench: unknown setting or variant '{bad[0]}' (settings: {', '.join(SETTINGS)}; variants: {', '.join(VARIANTS)})")
    extra = dict(kv.split("=", 1) for kv in a.set)
    sfm = a.sfm if a.sfm else sfm_model()
    results = run_all(a, sfm, a.variants.split(","), extra)
    peer_missing = results.pop("_peer", None) is not None
    (BENCH / f"result-{a.steps}.json").write_text(json.dumps(results, indent=1))
    for setting, runs in results.items():
        what = {"opensplat": "OpenSplat's setting (400x300 input, trained at 100x75 below step 3000)",
                "400": "400x300 throughout", "800": "800x600 throughout"}[setting]
        print_table(f"caliterra 16 photos, {what}, {a.steps} steps, {a.seeds} seed(s), held out {HELD_OUT}", runs, setting == "opensplat")
    if peer_missing:
        print(f"\nOpenSplat: not run ({binary()[1]}); no figures of it are printed.")
    print("\nPSNR/SSIM: the held-out photo at full size; 'at train res': at the resolution training ended at "
          "(OpenSplat's validation render). s/step: wall clock; CPU s/step: process CPU time (all threads), "
          "steadier on a shared machine. Over seeds: mean+-sd. OpenSplat: s/step between its first and last "
          "progress lines, peak MiB its own maximum resident set, PSNR/SSIM its PLY rendered by our evaluation.")


if __name__ == "__main__":
    main()
