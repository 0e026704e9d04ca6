"""The early model: written at its preset's step into the folder the pipeline names, as a
whole archive followed by its completion marker, while training goes on to the end; nothing
without the variable or with early_model_at 0 (the preview preset)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from gs_synthetic import make_scene, opt_ml
from gs_trainer.config import ConfigError, parse_hyperparameters
from gs_trainer.early import early_step

HERE = Path(__file__).resolve().parent.parent
# what the SfM stage reports; the early model must carry it like the final one (the viewer's metric frame)
SFM_REPORT = {"stage": "sfm", "georeference": {"metric": True, "latitude": 45.5, "longitude": -122.7}}
SMALL = {"steps": "40", "resolution_scale": "1", "log_every": "10", "refine_start": "15", "refine_every": "10", "threads": "1", "num_renders": "0", "checkpoint_every": "0"}


def test_presets_write_it_for_standard_and_high_only() -> None:
    assert early_step(parse_hyperparameters({"quality": "standard"})) == 700
    assert early_step(parse_hyperparameters({"quality": "high"})) == 3000
    assert early_step(parse_hyperparameters({"quality": "preview"})) == 0
    assert early_step(parse_hyperparameters({"quality": "preview", "early_model_at": "50"})) == 50


def test_a_step_at_or_past_the_end_is_refused() -> None:
    with pytest.raises(ConfigError, match="'early_model_at' \\(1000\\) must come before the last step \\(1000\\)"):
        parse_hyperparameters({"quality": "preview", "early_model_at": "1000"})
    with pytest.raises(ConfigError, match="'early_model_at' must be >= 0.0"):
        parse_hyperparameters({"early_model_at": "-1"})


def _train(tmp_path: Path, hyper: dict[str, str], early: bool) -> tuple[Path, str]:
    sfm = tmp_path / "sfm"
    make_scene(sfm, n_images=8, width=40, height=30, n_points=200)
    (sfm / "report.json").write_text(json.dumps(SFM_REPORT))
    root = opt_ml(tmp_path / "ml", sfm, {**SMALL, **hyper})
    env = {**os.environ, "SPACEPORT_OPT_ML": str(root), "SPACEPORT_PYTHON": sys.executable}
    if early:
        env["SPACEPORT_EARLY_OUTPUT_MODEL"] = "/opt/ml/checkpoints/early/model"
    else:
        env.pop("SPACEPORT_EARLY_OUTPUT_MODEL", None)
    done = subprocess.run(["bash", str(HERE / "entrypoint.sh"), "train"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return root, done.stdout


def test_writes_the_early_model_then_trains_on(tmp_path: Path) -> None:
    root, log = _train(tmp_path, {"quality": "standard", **{k: v for k, v in SMALL.items()}, "max_gaussians": "2000", "sh_degree": "1"}, early=True)
    folder = root / "checkpoints" / "early" / "model"
    assert sorted(p.name for p in folder.iterdir()) == ["_complete", "model.tar.gz"]
    marker = json.loads((folder / "_complete").read_text())
    assert marker == {"step": 4, "bytes": (folder / "model.tar.gz").stat().st_size}
    with tarfile.open(folder / "model.tar.gz") as tar:
        assert sorted(tar.getnames()) == ["cameras.json", "metrics.json", "point_cloud.ply", "upstream.json"]
        metrics = json.loads(tar.extractfile("metrics.json").read())  # type: ignore[union-attr]
        upstream = json.loads(tar.extractfile("upstream.json").read())  # type: ignore[union-attr]
    assert upstream == {"reports": [SFM_REPORT]}
    assert metrics["early"] is True and metrics["steps"] == 4 and metrics["of_steps"] == 40
    # training went on to the end: the final model is the 40-step one
    assert "early model: step=4/40" in log
    assert json.loads((root / "model" / "metrics.json").read_text())["steps"] == 40


def test_nothing_without_the_pipeline_asking_or_at_preview(tmp_path: Path) -> None:
    root, _ = _train(tmp_path / "a", {"quality": "standard", "max_gaussians": "2000", "sh_degree": "1"}, early=False)
    assert not (root / "checkpoints" / "early").exists()
    root, _ = _train(tmp_path / "b", {"quality": "preview"}, early=True)
    assert not (root / "checkpoints" / "early").exists()
