"""Kill training mid-run (SIGKILL, like a spot interruption) and restart it: it resumes from
the latest checkpoint and ends with the configured number of steps."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from gs_synthetic import make_scene, opt_ml

HERE = Path(__file__).resolve().parent.parent


def test_kill_and_resume(tmp_path: Path) -> None:
    sfm = tmp_path / "sfm"
    make_scene(sfm, n_images=8, width=40, height=30, n_points=200)
    root = opt_ml(
        tmp_path / "ml",
        sfm,
        {"quality": "preview", "steps": "60", "resolution_scale": "1", "checkpoint_every": "20",
         "log_every": "10", "refine_start": "15", "refine_every": "10", "threads": "1", "num_renders": "1"},
    )
    env = {**os.environ, "SPACEPORT_OPT_ML": str(root), "SPACEPORT_PYTHON": sys.executable}
    entry = str(HERE / "entrypoint.sh")
    proc = subprocess.Popen(["bash", entry, "train"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("checkpoint: step=40"):
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "".join(lines)
    assert not (root / "model" / "metrics.json").exists()
    ckpts = sorted(p.name for p in (root / "checkpoints").glob("ckpt-*.pt"))
    assert ckpts == ["ckpt-0000020.pt", "ckpt-0000040.pt"]

    done = subprocess.run(["bash", entry, "train"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "resumed from checkpoint ckpt-0000040.pt at step 40" in done.stdout
    steps = [ln for ln in done.stdout.splitlines() if ln.startswith("step=")]
    assert steps[0].startswith("step=50/60") and steps[-1].startswith("step=60/60")
    metrics = json.loads((root / "model" / "metrics.json").read_text())
    assert metrics["steps"] == 60 and metrics["resumed_from_step"] == 40
    assert metrics["train_time_s"] >= metrics["s_per_step"] * 20


def test_bad_input_writes_failure(tmp_path: Path) -> None:
    sfm = tmp_path / "sfm"
    make_scene(sfm, n_images=4, width=32, height=24, n_points=40)
    root = opt_ml(tmp_path / "ml", sfm, {"steps": "ten"})
    env = {**os.environ, "SPACEPORT_OPT_ML": str(root), "SPACEPORT_PYTHON": sys.executable}
    r = subprocess.run(["bash", str(HERE / "entrypoint.sh"), "train"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    failure = (root / "output" / "failure").read_text()
    assert "'steps'" in failure and "integer" in failure
    assert (root / "output" / "message").read_text() == failure
