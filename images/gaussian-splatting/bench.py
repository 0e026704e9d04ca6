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
3000, SH degree +1 every 1000, 0.2 D-SSIM). Each backend (--backends cpp,torch) runs the same
setting and seed one after the other, so their ratio is measured under the same machine load;
--seeds N repeats every run with seeds 0..N-1 and prints mean and spread (min-max).
OpenSplat itself is not run by this script (no constants are printed in its place).

    python images/gaussian-splatting/bench.py [--steps 300] [--settings opensplat,400,800]
        [--backends cpp,torch] [--seeds 1] [--sfm DIR] [--threads N] [--set KEY=VALUE]
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


def train(sfm: Path, steps: int, setting: str, backend: str, seed: int, threads: int, extra: dict[str, str]) -> dict[str, Any]:
    opt = BENCH / f"train-{setting}-{steps}-{backend}-s{seed}"
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
        **extra,
    }
    (opt / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hyper))
    env = {**os.environ, "SPACEPORT_OPT_ML": str(opt), "SPACEPORT_PYTHON": sys.executable}
    print(f"bench: {setting} {steps} steps, backend {backend}, seed {seed}", flush=True)
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


def spread(vals: list[float], fmt: str) -> str:
    mean = statistics.fmean(vals)
    if len(vals) == 1:
        return format(mean, fmt)
    return f"{format(mean, fmt)} ({format(min(vals), fmt)}-{format(max(vals), fmt)})"


def print_table(title: str, runs: dict[str, list[dict[str, float]]], coarse: bool) -> None:
    print(f"\n== {title}")
    cols = ["s/step", "CPU s/step", "PSNR", "SSIM"] + (["PSNR@train res", "SSIM"] if coarse else []) + ["Gaussians", "peak MB"]
    print(" | ".join(["backend".ljust(7)] + [c.rjust(14) for c in cols]))
    for backend, rows in runs.items():
        def col(key: str, fmt: str) -> str:
            return spread([r[key] for r in rows], fmt).rjust(14)
        cells = [col("s_step", ".3f"), col("cpu_s_step", ".3f"), col("psnr", ".2f"), col("ssim", ".3f")]
        if coarse:
            cells += [col("psnr_low", ".2f"), col("ssim_low", ".3f")]
        cells += [col("gaussians", ".0f"), col("peak_mb", ".0f")]
        print(" | ".join([backend.ljust(7)] + cells))
    if "cpp" in runs and "torch" in runs:
        # per seed: the two backends ran back to back under the same load
        sp = [t["s_step"] / c["s_step"] for c, t in zip(runs["cpp"], runs["torch"])]
        cpu = [t["cpu_s_step"] / c["cpu_s_step"] for c, t in zip(runs["cpp"], runs["torch"])]
        dp = [c["psnr"] - t["psnr"] for c, t in zip(runs["cpp"], runs["torch"])]
        print(f"compiled/torch: steps/s x{spread(sp, '.2f')} (wall), x{spread(cpu, '.2f')} (CPU time); "
              f"PSNR difference {spread(dp, '+.2f')} dB")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=300, help="training steps per run (default 300)")
    ap.add_argument("--settings", default="opensplat,400,800", help=f"comma-separated, of {', '.join(SETTINGS)}")
    ap.add_argument("--backends", default="cpp,torch", help="comma-separated CPU backends (default cpp,torch)")
    ap.add_argument("--seeds", type=int, default=1, help="seeds per run, 0..N-1 (default 1)")
    ap.add_argument("--sfm", type=Path, help="an SfM output folder (sparse/0 + images/) instead of running the SfM stage")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="extra hyperparameter")
    a = ap.parse_args()
    settings = [s for s in a.settings.split(",") if s]
    bad = [s for s in settings if s not in SETTINGS]
    if bad:
        sys.exit(f"bench: unknown setting '{bad[0]}' (known: {', '.join(SETTINGS)})")
    extra = dict(kv.split("=", 1) for kv in a.set)
    sfm = a.sfm if a.sfm else sfm_model()
    backends = [b for b in a.backends.split(",") if b]
    results: dict[str, dict[str, list[dict[str, float]]]] = {}
    for setting in settings:
        results[setting] = {b: [] for b in backends}
        for seed in range(a.seeds):
            for backend in backends:
                m = train(sfm, a.steps, setting, backend, seed, a.threads, extra)
                results[setting][backend].append(figures(m))
    (BENCH / f"result-{a.steps}.json").write_text(json.dumps(results, indent=1))
    for setting, runs in results.items():
        what = {"opensplat": "OpenSplat's setting (400x300 input, trained at 100x75 below step 3000)",
                "400": "400x300 throughout", "800": "800x600 throughout"}[setting]
        print_table(f"caliterra 16 photos, {what}, {a.steps} steps, {a.seeds} seed(s), held out {HELD_OUT}", runs, setting == "opensplat")
    print("\nPSNR/SSIM: the held-out photo at full size; 'at train res': at the resolution training ended at "
          "(OpenSplat's validation render). s/step: wall clock; CPU s/step: process CPU time (all threads), "
          "steadier on a shared machine. Spread over seeds: mean (min-max).")


if __name__ == "__main__":
    main()
