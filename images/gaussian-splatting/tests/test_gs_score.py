"""Scoring a PLY from any trainer on the held-out photos gives the trainer's own figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gs_trainer.config import parse_hyperparameters
from gs_trainer.data import load_scene
from gs_trainer.gaussians import write_ply
from gs_trainer.score import score_ply
from gs_trainer.train import Trainer

from gs_synthetic import make_scene

HERE = Path(__file__).resolve().parent.parent
HYPER = {"quality": "preview", "resolution_scale": "1", "sh_degree": "1", "backend": "torch", "threads": "1"}


def test_score_equals_the_trainers_evaluation(tmp_path: Path) -> None:
    make_scene(tmp_path / "sfm")
    cfg = parse_hyperparameters(HYPER)
    trainer = Trainer(cfg, load_scene(tmp_path / "sfm", cfg), torch.device("cpu"), "torch")
    trainer.init()
    with torch.no_grad():  # some view-dependent colour, so the SH band must be rendered too
        trainer.params["shN"].normal_(0.0, 0.2, generator=torch.Generator().manual_seed(0))
    trainer.step = cfg.sh_degree_interval
    ev = trainer.evaluate()
    write_ply(tmp_path / "m.ply", trainer.params)  # type: ignore[arg-type]
    got = score_ply(tmp_path / "sfm", tmp_path / "m.ply", {k: v for k, v in HYPER.items() if k != "sh_degree"})
    assert got["sh_degree"] == 3  # the PLY layout always carries 45 f_rest (zeros past degree 1)
    assert got["gaussians"] == trainer.params["means"].shape[0]
    assert [r["image"] for r in got["images"]] == [r["image"] for r in ev["images"]]
    assert got["psnr"] == pytest.approx(ev["psnr"], abs=1e-3) and got["ssim"] == pytest.approx(ev["ssim"], abs=1e-4)

    env = {**os.environ, "PYTHONPATH": f"{HERE}:{HERE.parent / 'shared'}"}
    args = [sys.executable, "-m", "gs_trainer.score", "--sfm", str(tmp_path / "sfm"), "--ply", str(tmp_path / "m.ply")]
    sets = [x for k, v in HYPER.items() if k != "sh_degree" for x in ("--set", f"{k}={v}")]
    r = subprocess.run(args + sets, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["psnr"] == pytest.approx(ev["psnr"], abs=1e-3)
    r = subprocess.run(args + ["--set", "holdout"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "KEY=VALUE" in r.stderr


def test_a_peers_background_is_part_of_its_picture(tmp_path: Path) -> None:
    """A model scored over the colour its trainer composited over gets that trainer's figure:
    where it leaves pixels partly transparent, black would be scored instead of that colour."""
    make_scene(tmp_path / "sfm")
    cfg = parse_hyperparameters(HYPER)
    magenta = (0.6130, 0.0101, 0.3984)
    trainer = Trainer(cfg, load_scene(tmp_path / "sfm", cfg), torch.device("cpu"), "torch", background=magenta)
    trainer.init()
    with torch.no_grad():  # half-transparent Gaussians, so the background shows everywhere
        trainer.params["opacities"].fill_(0.0)
    ev = trainer.evaluate()
    write_ply(tmp_path / "m.ply", trainer.params)  # type: ignore[arg-type]
    hyper = {k: v for k, v in HYPER.items() if k != "sh_degree"}
    over_it = score_ply(tmp_path / "sfm", tmp_path / "m.ply", hyper, magenta)
    over_black = score_ply(tmp_path / "sfm", tmp_path / "m.ply", hyper)
    assert over_it["psnr"] == pytest.approx(ev["psnr"], abs=1e-3)
    assert abs(over_it["psnr"] - over_black["psnr"]) > 0.1

    env = {**os.environ, "PYTHONPATH": f"{HERE}:{HERE.parent / 'shared'}"}
    args = [sys.executable, "-m", "gs_trainer.score", "--sfm", str(tmp_path / "sfm"), "--ply", str(tmp_path / "m.ply")]
    sets = [x for k, v in hyper.items() for x in ("--set", f"{k}={v}")]
    r = subprocess.run(args + sets + ["--background", ",".join(map(str, magenta))], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["psnr"] == pytest.approx(ev["psnr"], abs=1e-3)
    for bad in ("1,0", "red", "2,0,0"):
        r = subprocess.run(args + ["--background", bad], env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 2 and "--background expects three numbers" in r.stderr and bad in r.stderr
