"""Caliterra training benchmark (npm run bench:train), CPU backend vs OpenSplat's CPU figures.

Setting (the issue's OpenSplat run): the first 16 caliterra photos (IMG_9354-IMG_9369),
downscaled to 400x300, IMG_9361 held out, 300 and 2000 steps. The SfM model comes from the
SfM stage's own entry program (images/sfm/entrypoint.sh), run once and cached under
.bench/gaussian-splatting/; --sfm DIR uses another SfM output folder instead.

OpenSplat trains coarse-to-fine by default (--num-downscales 2, --resolution-schedule 3000):
for its first 3000 steps it trains, and renders its validation image, at 1/4 of the input,
here 100x75. So the same setting here is num_downscales=2, resolution_schedule=3000, and the
held-out image is scored both at that resolution (OpenSplat's validation render) and at
400x300. `--set num_downscales=0` trains at 400x300 throughout.

    python images/gaussian-splatting/bench.py [--steps 300,2000] [--sfm DIR] [--threads N] [--set KEY=VALUE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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
# OpenSplat (C++, CPU build) on this kind of machine, from the issue
OPENSPLAT = {300: {"wall_s": 87.0, "psnr": 28.5}, 2000: {"wall_s": 13.5 * 60, "s_per_step": 0.41, "psnr": 32.97, "ssim": 0.914, "peak_mb": 354.0}}


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


def train(sfm: Path, steps: int, threads: int, extra: dict[str, str], tag: str = "") -> dict[str, Any]:
    opt = BENCH / f"train-{steps}{tag}"
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
        "max_image_size": "400",
        # OpenSplat's defaults: coarse-to-fine (see above), densification from step 500 every 100
        # until 15000, opacity reset every 3000, SH degree +1 every 1000, 0.2 D-SSIM
        "num_downscales": "2",
        "resolution_schedule": "3000",
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
        "eval_every": "100",
        "num_renders": "1",
        "threads": str(threads),
        **extra,
    }
    (opt / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hyper))
    env = {**os.environ, "SPACEPORT_OPT_ML": str(opt), "SPACEPORT_PYTHON": sys.executable}
    t = time.perf_counter()
    r = subprocess.run(["bash", str(HERE / "entrypoint.sh"), "train"], env=env)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        fail = opt / "output" / "failure"
        sys.exit(f"bench: training failed: {fail.read_text().strip() if fail.exists() else r.returncode}")
    m: dict[str, Any] = json.loads((opt / "model" / "metrics.json").read_text())
    m["bench_wall_s"] = wall
    return m


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", default="300,2000", help="comma-separated step counts (default 300,2000)")
    ap.add_argument("--sfm", type=Path, help="an SfM output folder (sparse/0 + images/) instead of running the SfM stage")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="extra hyperparameter")
    ap.add_argument("--tag", default="", help="suffix for the work folders and result files (variants)")
    a = ap.parse_args()
    extra = dict(kv.split("=", 1) for kv in a.set)
    sfm = a.sfm if a.sfm else sfm_model()
    rows = []
    for steps in [int(s) for s in a.steps.split(",")]:
        m = train(sfm, steps, a.threads, extra, a.tag)
        rows.append((steps, m))
        (BENCH / f"result-{steps}{a.tag}.json").write_text(json.dumps(m, indent=1))
    print("\n== caliterra IMG_9354-IMG_9369 at 400x300, held out IMG_9361, CPU")
    print(
        f"{'steps':>6} | {'ours s/step':>11} {'wall':>6} {'trained at':>10} {'PSNR':>6} {'SSIM':>6} {'@full':>8} {'SSIM':>6} "
        f"{'peak MB':>7} {'gaussians':>9} | {'OpenSplat s/step':>16} {'wall':>6} {'PSNR':>6} {'SSIM':>6}"
    )
    for steps, m in rows:
        o = OPENSPLAT.get(steps, {})
        o_sps = o.get("s_per_step", o["wall_s"] / steps if o else float("nan"))
        low = m.get("at_training_resolution") or {"resolution": m["resolution"], "psnr": m["psnr"], "ssim": m["ssim"]}
        res = "x".join(str(x) for x in low["resolution"])
        print(
            f"{steps:>6} | {m['s_per_step']:>11.3f} {m['bench_wall_s']:>5.0f}s {res:>10} {low['psnr']:>6.2f} {low['ssim']:>6.3f} "
            f"{m['psnr']:>8.2f} {m['ssim']:>6.3f} {m['peak_memory_mb']:>7.0f} {m['gaussians']:>9} | "
            f"{o_sps:>16.3f} {o.get('wall_s', float('nan')):>5.0f}s {o.get('psnr', float('nan')):>6.2f} {o.get('ssim', float('nan')):>6.3f}"
        )
    print("PSNR/SSIM: the held-out image at the resolution training ended at (OpenSplat's validation render), then at full size (400x300).")

if __name__ == "__main__":
    main()
