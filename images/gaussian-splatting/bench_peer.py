"""OpenSplat as the training bench's peer: run on the same SfM model and photos, with the same
held-out photo, scored by the same script as ours (``gs_trainer.score``).

OpenSplat (AGPL) is never part of this repository: build it from its public source elsewhere
and point ``SPACEPORT_OPENSPLAT`` at the ``opensplat`` binary. Without it the bench says that
the peer was not run. Figures: s/step from the time between its first and last progress lines
(model loading excluded, as our s/step excludes it; CPU s/step likewise from /proc), peak memory from the process's own
maximum resident set (wait4), held-out PSNR/SSIM by rendering its PLY (--keep-crs: the SfM
model's frame) with our evaluation over the background colour it trained over.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_memory import TreeSampler, wait_peak

HERE = Path(__file__).resolve().parent
STEP_LINE = re.compile(r"^Step (\d+): ")

# per bench setting: OpenSplat's resolution options on the SfM stage's images (800 px long
# side): 400x300 input, coarse-to-fine as its defaults; 400x300 throughout; 800x600 throughout
# OpenSplat composites over a constant colour (model.hpp: nerfstudio's default, not learned and
# not in its PLY); partly transparent pixels of its model show it, so its PLY is scored over it
BACKGROUND = "0.6130,0.0101,0.3984"

ARGS: dict[str, list[str]] = {
    "opensplat": ["--downscale-factor", "2", "--num-downscales", "2", "--resolution-schedule", "3000"],
    "400": ["--downscale-factor", "2", "--num-downscales", "0"],
    "800": ["--downscale-factor", "1", "--num-downscales", "0"],
}


def binary() -> tuple[Path | None, str]:
    """The OpenSplat binary, or None and why it will not be run."""
    env = os.environ.get("SPACEPORT_OPENSPLAT", "")
    if not env:
        return None, "SPACEPORT_OPENSPLAT is not set (path of an opensplat binary built from its public source)"
    p = Path(env)
    if not (p.is_file() and os.access(p, os.X_OK)):
        return None, f"SPACEPORT_OPENSPLAT={env} is not an executable file"
    return p, str(p)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process, all its threads (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run_timed(cmd: list[str], log: Path, threads: int) -> tuple[int, list[tuple[int, float, float]], float, float]:
    """Runs cmd; (exit status, (step, wall time, CPU time) at each progress line, peak RSS in MiB
    of that process, sampled peak anonymous memory in MiB)."""
    env = {**os.environ}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    steps: list[tuple[int, float, float]] = []
    # OpenSplat's progress lines go through stdio, block-buffered into a pipe: without line
    # buffering they arrive a few hundred steps at a time and their arrival times cannot time steps
    if shutil.which("stdbuf"):
        cmd = ["stdbuf", "-oL", *cmd]
    with log.open("w") as out:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        assert p.stdout is not None
        with TreeSampler(p.pid) as sampler:
            for line in p.stdout:
                out.write(line)
                m = STEP_LINE.match(line)
                if m:
                    steps.append((int(m.group(1)), time.perf_counter(), _cpu_seconds(p.pid)))
        code, peak = wait_peak(p)
    return code, steps, peak, sampler.peak_anon_mb


def _count_vertices(ply: Path) -> int:
    with ply.open("rb") as f:
        for raw in f:
            if raw.startswith(b"element vertex"):
                return int(raw.split()[2])
            if raw.startswith(b"end_header"):
                break
    raise ValueError(f"{ply}: no vertex element")


def run_opensplat(exe: Path, sfm: Path, out: Path, setting: str, steps: int, held_out: str, threads: int, hyper: dict[str, str]) -> dict[str, Any]:
    """One OpenSplat run; the bench row's figures (s_step, psnr, ssim, gaussians, peak_mb)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    ply = out / "splat.ply"
    cmd = [str(exe), str(sfm), "-n", str(steps), "-o", str(ply), "--keep-crs", "--cpu", "--val", "--val-image", f"{held_out}.jpg", *ARGS[setting]]
    print(f"bench: OpenSplat {setting} {steps} steps", flush=True)
    code, marks, peak, anon = _run_timed(cmd, out / "opensplat.log", threads)
    if code != 0 or not ply.is_file():
        tail = (out / "opensplat.log").read_text().strip().splitlines()[-3:]
        sys.exit(f"bench: OpenSplat failed (exit {code}): {' | '.join(tail)}")
    if len(marks) < 2:
        sys.exit(f"bench: OpenSplat printed {len(marks)} progress lines; cannot time its steps (see {out / 'opensplat.log'})")
    (s0, t0, c0), (s1, t1, c1) = marks[0], marks[-1]
    env = {**os.environ, "PYTHONPATH": f"{HERE}:{HERE.parent / 'shared'}"}
    sets = [x for k, v in {**hyper, "holdout": held_out}.items() for x in ("--set", f"{k}={v}")]
    r = subprocess.run([sys.executable, "-m", "gs_trainer.score", "--sfm", str(sfm), "--ply", str(ply), "--background", BACKGROUND, *sets],
                       env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"bench: scoring OpenSplat's PLY failed: {r.stderr.strip()[-400:]}")
    score = json.loads(r.stdout.strip().splitlines()[-1])
    return {
        "s_step": (t1 - t0) / (s1 - s0), "cpu_s_step": (c1 - c0) / (s1 - s0), "psnr": score["psnr"], "ssim": score["ssim"],
        "psnr_low": float("nan"), "ssim_low": float("nan"), "gaussians": _count_vertices(ply), "peak_mb": peak, "anon_mb": anon,
    }
