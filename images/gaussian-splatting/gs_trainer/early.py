"""The early model: the model part-way through training, for the pipeline's preview.

The pipeline names the folder in ``SPACEPORT_EARLY_OUTPUT_MODEL`` (a path under /opt/ml, in
the checkpoint folder SageMaker copies to S3 while the job runs) when the stage declares an
early output; ``early_model_at`` (config presets) says when. Without the variable, or with
``early_model_at`` 0, nothing is written. The files are those of the final model (PLY,
cameras.json, metrics.json marked ``early``, and upstream.json: the earlier stages' reports, so
the preview keeps the georeference and the warnings), packed as model.tar.gz under a temporary name
and renamed; the completion marker is written last, so whoever sees it sees a whole archive.
"""

from __future__ import annotations

import json
import os
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any, Protocol

import stage_contract
import torch

from .config import Config
from .contract import Paths
from .data import Scene
from .gaussians import write_ply
from .outputs import cameras_json
from .upstream import UPSTREAM_FILE


class Trainer(Protocol):
    """What of the trainer (train.py) the early model needs; a protocol, so train.py can call this module."""

    cfg: Config
    scene: Scene
    step: int
    params: dict[str, torch.nn.Parameter]
    exposure: torch.nn.Parameter | None

    def save_checkpoint(self, ckpt_dir: Path, keep: int = 2) -> Path: ...
    def bake_mean_exposure(self) -> None: ...
    def evaluate(self, render_dir: Path | None = None, num_renders: int = 0, factor: int = 1) -> dict[str, Any]: ...

EARLY_VARIABLE = "SPACEPORT_EARLY_OUTPUT_MODEL"
COMPLETE_MARKER = "_complete"  # pipeline/stage-contract.ts EARLY_OUTPUT_COMPLETE


def early_step(cfg: Config) -> int:
    """The step after which the early model is written: a fraction of the steps (0 < x < 1) or a step; 0 = never."""
    at = cfg.early_model_at
    if at <= 0:
        return 0
    step = max(1, round(cfg.steps * at)) if at < 1 else int(at)
    return step if step < cfg.steps else 0


def early_dir() -> Path | None:
    """The folder the pipeline asked for, rooted where this run's /opt/ml is (None: not asked)."""
    value = os.environ.get(EARLY_VARIABLE, "").strip()
    if not value:
        return None
    path = Path(value)
    try:
        return stage_contract.opt_ml() / path.relative_to("/opt/ml")
    except ValueError:
        return path


def after_step(trainer: Trainer, ckpt_dir: Path | None) -> None:
    """What follows a training step besides logging: the periodic checkpoint, and the early model at its step."""
    cfg = trainer.cfg
    if ckpt_dir is not None and cfg.checkpoint_every and trainer.step % cfg.checkpoint_every == 0 and trainer.step < cfg.steps:
        path = trainer.save_checkpoint(ckpt_dir)
        print(f"checkpoint: step={trainer.step} {path.name}", flush=True)
    dest = early_dir()
    if dest is not None and trainer.step == early_step(cfg):
        t0 = time.perf_counter()
        archive = write_early_model(trainer, dest)
        print(f"early model: step={trainer.step}/{cfg.steps} {archive} ({time.perf_counter() - t0:.1f} s)", flush=True)


def write_early_model(trainer: Trainer, dest: Path) -> Path:
    """The model as it is now, with the mean exposure baked in as the final model has it
    (the live parameters are put back), packed into ``dest``; then the marker."""
    dest.mkdir(parents=True, exist_ok=True)
    saved = {k: trainer.params[k].data.clone() for k in ("sh0", "shN")}
    exposure = None if trainer.exposure is None else trainer.exposure.data.clone()
    with tempfile.TemporaryDirectory(prefix="early-model-") as tmp:
        work = Path(tmp)
        try:
            trainer.bake_mean_exposure()
            ev = trainer.evaluate()
            write_ply(work / "point_cloud.ply", trainer.params)  # type: ignore[arg-type]
        finally:
            for k, v in saved.items():
                trainer.params[k].data = v
            if exposure is not None and trainer.exposure is not None:
                trainer.exposure.data = exposure
        (work / "cameras.json").write_text(json.dumps(cameras_json(trainer.scene), indent=1))
        metrics = {
            "early": True,
            "steps": trainer.step,
            "of_steps": trainer.cfg.steps,
            "psnr": ev["psnr"] if ev["psnr"] == ev["psnr"] else None,  # NaN: no held-out photos
            "ssim": ev["ssim"] if ev["ssim"] == ev["ssim"] else None,
            "gaussians": int(trainer.params["means"].shape[0]),
            "images": {"train": len(trainer.scene.train), "held_out": len(trainer.scene.test)},
        }
        (work / "metrics.json").write_text(json.dumps(metrics, indent=1))
        partial = dest / ".model.tar.gz.tmp"  # same folder: the rename is atomic
        upstream = Paths.from_env().model / UPSTREAM_FILE  # written before training (__main__)
        with tarfile.open(partial, "w:gz") as tar:
            for name in ("point_cloud.ply", "cameras.json", "metrics.json"):
                tar.add(work / name, arcname=name)
            if upstream.is_file():
                tar.add(upstream, arcname=UPSTREAM_FILE)
    archive = dest / "model.tar.gz"
    os.replace(partial, archive)
    marker = dest / f".{COMPLETE_MARKER}.tmp"
    marker.write_text(json.dumps({"step": trainer.step, "bytes": archive.stat().st_size}) + "\n")
    os.replace(marker, dest / COMPLETE_MARKER)
    return archive
