"""Scores a 3D Gaussian splat PLY made by any trainer on the held-out photos of an SfM model,
with the trainer's own evaluation (the same renderer, PSNR and SSIM as its metrics.json), so a
peer's output and ours are measured by one script. The PLY must be in the SfM model's
coordinate frame (the 3DGS layout: f_dc/f_rest, logit opacity, log scales, w-first quaternions).

    python -m gs_trainer.score --sfm DIR --ply FILE [--set KEY=VALUE ...] [--background R,G,B]

``--set`` takes the trainer's hyperparameters that decide the views (holdout, max_image_size,
resolution_scale, exposure_compensation: with it on, as ``auto`` decides from the photos' EXIF,
each held-out photo's exposure is fitted, as the trainer scores its own); ``--background`` the colour the PLY's trainer composited over (default black,
ours; OpenSplat trains over nerfstudio's 0.6130,0.0101,0.3984, and where its Gaussians leave a
pixel partly transparent that colour is part of its picture). Prints one JSON object (psnr,
ssim, coverage, gaussians, per view).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch

from .config import parse_hyperparameters
from .data import load_scene
from .exposure import choose_model
from .gaussians import read_ply, sh_degree_of
from .render import parse_background
from .train import Trainer


def score_ply(sfm: Path, ply: Path, hyper: dict[str, str], background: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> dict[str, Any]:
    raw = read_ply(ply)
    degree = sh_degree_of(raw)
    cfg = parse_hyperparameters({**hyper, "sh_degree": str(degree)})
    scene = load_scene(sfm, cfg)
    if not scene.test:
        raise ValueError("score: the SfM model has no held-out photo; set holdout=NAME")
    device = torch.device("cpu")
    from .backends import resolve_backend

    backend, _ = resolve_backend(cfg.backend, device)
    trainer = Trainer(cfg, scene, device, backend, background=background)
    trainer.params = {k: torch.nn.Parameter(v.float().contiguous()) for k, v in raw.items()}
    trainer.step = cfg.sh_degree_interval * max(degree, 1)  # render with every SH band the PLY has
    # held-out photos' exposure fitted where our trainer would compensate exposure on these photos
    # (held_out.py), so a peer's model is scored as ours would be
    trainer.exposure_model = choose_model(cfg.exposure_compensation, [v.photo for v in scene.train])[0]
    ev = trainer.evaluate()
    return {**ev, "gaussians": int(raw["means"].shape[0]), "sh_degree": degree}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description="score a splat PLY on an SfM model's held-out photos")
    ap.add_argument("--sfm", type=Path, required=True, help="SfM output folder (sparse/0 and images/)")
    ap.add_argument("--ply", type=Path, required=True, help="the splat to score, in the SfM model's frame")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="trainer hyperparameter")
    ap.add_argument("--background", default="0,0,0", help="R,G,B in [0,1] that the PLY's trainer rendered over (default 0,0,0)")
    a = ap.parse_args(argv)
    try:
        rgb = parse_background(a.background)
    except ValueError as e:
        print(f"score: {e}", file=sys.stderr)
        return 2
    bad = [kv for kv in a.set if "=" not in kv]
    if bad:
        print(f"score: --set expects KEY=VALUE, got '{bad[0]}'", file=sys.stderr)
        return 2
    hyper = dict(kv.split("=", 1) for kv in a.set)
    print(json.dumps(score_ply(a.sfm, a.ply, hyper, rgb)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
