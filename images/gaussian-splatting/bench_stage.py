"""The training benches' way of running the stages: the SfM stage's and this stage's own entry
programs under the SageMaker contract (``SPACEPORT_OPT_ML``), each run in its own folder under
.bench/, the trainer's peak memory sampled (bench_memory.py). Used by bench.py (caliterra beside
OpenSplat) and bench_surveys.py (the generated survey and its harder variants)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_memory import TreeSampler, wait_peak

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def run_sfm(opt: Path, photos: list[Path], max_size: int) -> Path:
    """Runs the SfM stage on ``photos`` once (``max_size``: SFM_MAX_IMAGE_SIZE); later calls with
    the same folder reuse its output. Returns the output folder (sparse/0, images/, report.json)."""
    out = opt / "processing" / "output" / "sfm"
    if (out / "sparse" / "0" / "images.bin").is_file():
        return out
    folder = opt / "processing" / "input" / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    for src in photos:
        link = folder / src.name
        if link.is_symlink():
            link.unlink()
        if not link.exists():
            # a hard link (the SfM stage refuses symbolic links); a copy under .bench/ (ignored)
            # only where the photos are on another file system
            try:
                os.link(src, link)
            except OSError:
                shutil.copyfile(src, link)
    env = {**os.environ, "SPACEPORT_OPT_ML": str(opt), "SFM_MAX_IMAGE_SIZE": str(max_size)}
    print(f"bench: running the SfM stage on {len(photos)} photos (cached in {opt})", flush=True)
    t = time.perf_counter()
    with (opt / "sfm.log").open("w") as log:
        r = subprocess.run(["bash", str(ROOT / "images" / "sfm" / "entrypoint.sh")], env=env, stdout=log, stderr=subprocess.STDOUT)
    if r.returncode != 0 or not (out / "sparse" / "0" / "images.bin").is_file():
        fail = opt / "output" / "failure"
        reason = fail.read_text().strip() if fail.exists() else f"exit status {r.returncode}, log in {opt / 'sfm.log'}"
        raise RuntimeError(f"the SfM stage failed ({opt.name}): {reason}")
    print(f"bench: SfM done in {time.perf_counter() - t:.0f} s", flush=True)
    return out


def reused(opt: Path, hyper: dict[str, str], sfm: Path) -> dict[str, Any] | None:
    """A finished run's metrics for exactly these hyperparameters and SfM model (runs from before
    the bench recorded anonymous memory have none: printed as -)."""
    conf, metrics = opt / "input" / "config" / "hyperparameters.json", opt / "model" / "metrics.json"
    link = opt / "input" / "data" / "sfm"
    if not (conf.is_file() and metrics.is_file() and link.is_symlink()):
        return None
    if json.loads(conf.read_text()) != hyper or link.resolve() != sfm.resolve():
        return None
    m: dict[str, Any] = json.loads(metrics.read_text())
    extra = opt / "bench.json"
    m.update(json.loads(extra.read_text()) if extra.is_file() else {"bench_peak_mb": m["peak_memory_mb"], "bench_anon_mb": float("nan")})
    print(f"bench: reusing {opt.name} (--reuse)", flush=True)
    return m


def run_training(opt: Path, sfm: Path, hyper: dict[str, str], label: str, reuse: bool = False) -> dict[str, Any]:
    """Trains with ``hyper`` on ``sfm`` in ``opt``; metrics.json plus the bench's own wall time and
    peak memory (bench_wall_s, bench_peak_mb, bench_anon_mb). ``reuse``: a finished run of the same
    inputs is taken instead (printed). A failed run raises with the stage's reason."""
    old = reused(opt, hyper, sfm) if reuse else None
    if old is not None:
        return old
    (opt / "input" / "data").mkdir(parents=True, exist_ok=True)
    (opt / "input" / "config").mkdir(parents=True, exist_ok=True)
    link = opt / "input" / "data" / "sfm"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(sfm.resolve())
    for sub in ("model", "checkpoints", "output"):
        shutil.rmtree(opt / sub, ignore_errors=True)
    (opt / "bench.json").unlink(missing_ok=True)
    (opt / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hyper))
    env = {**os.environ, "SPACEPORT_OPT_ML": str(opt), "SPACEPORT_PYTHON": sys.executable}
    print(f"bench: {label}", flush=True)
    t = time.perf_counter()
    with (opt / "train.log").open("w") as log:  # the trainer's progress lines, for a look while it runs
        # entrypoint.sh execs python: the pid waited for is the trainer's own
        p = subprocess.Popen(["bash", str(HERE / "entrypoint.sh"), "train"], env=env, stdout=log, text=True)
        with TreeSampler(p.pid) as sampler:
            code, peak = wait_peak(p)
    wall = time.perf_counter() - t
    if code != 0:
        fail = opt / "output" / "failure"
        raise RuntimeError(f"training failed ({label}): {fail.read_text().strip() if fail.exists() else code}")
    m: dict[str, Any] = json.loads((opt / "model" / "metrics.json").read_text())
    mine = {"bench_wall_s": wall, "bench_peak_mb": peak, "bench_anon_mb": sampler.peak_anon_mb}
    (opt / "bench.json").write_text(json.dumps(mine))
    m.update(mine)
    return m
