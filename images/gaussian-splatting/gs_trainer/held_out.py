"""Held-out evaluation: PSNR, SSIM and coverage of the photos training never saw.

Renders are scored at the training photos' mean colour transform (the appearance the PLY holds).
With exposure compensation on (``exposure_model`` "channel" or "affine"), every training photo
had its own transform, and a held-out photo's exposure is unknown to the model: its headline
PSNR/SSIM are then taken after fitting that same transform to the photo
(``exposure.fit_to_photo``), so a photo shot a stop brighter does not read as a blur; the
mean-exposure figures are kept beside them (``psnr_at_mean_exposure``, ``ssim_at_mean_exposure``).
Without compensation nothing is fitted and the two are the same figure.

Beside PSNR each photo gets its ``equivalent_blur`` (metrics.equivalent_blur: the blur, as a share
of the width, at which the photo differs from itself as much as the render does), and the
evaluation its lower median over the photos: a figure relative to each photo's own detail, so a
smooth model of a low-contrast site is not passed as sharp by its PSNR; the lower median, so one
photo at the survey's edge that nothing else saw does not call the whole model blurry.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from .backends import RenderOutput
from .config import Config
from .data import Scene, View
from .exposure import fit_to_photo
from .metrics import equivalent_blur, psnr, ssim
from .outputs import save_png
from .quality import COVERED_ALPHA


class Trainer(Protocol):
    """What of the trainer (train.py) the evaluation reads; a protocol, so train.py can call this module."""

    cfg: Config
    scene: Scene
    step: int
    device: torch.device
    exposure: torch.nn.Parameter | None
    exposure_model: str

    def render(self, view: View, sh_degree: int) -> RenderOutput: ...


def _mean(rows: list[dict[str, Any]], key: str) -> float:
    return float(np.mean([r[key] for r in rows]))


def report(ev: dict[str, Any]) -> dict[str, Any]:
    """The held-out part of metrics.json from ``evaluate``'s result: the means (null where no photo
    was held out), the figures at the mean exposure where exposure was fitted (else null), and the
    per-photo rows as ``held_out``."""
    out: dict[str, Any] = {k: ev[k] if not math.isnan(ev[k]) else None for k in ("psnr", "ssim", "coverage", "equivalent_blur")}
    out["exposure_fitted"] = ev.get("exposure_fitted")
    out["psnr_at_mean_exposure"] = ev.get("psnr_at_mean_exposure")
    out["ssim_at_mean_exposure"] = ev.get("ssim_at_mean_exposure")
    out["held_out"] = ev["images"]
    return out


@torch.no_grad()
def evaluate(trainer: Trainer, render_dir: Path | None = None, num_renders: int = 0, factor: int = 1) -> dict[str, Any]:
    """Held-out PSNR/SSIM/coverage (means, and ``images``: one row per photo), at the training
    resolution or, with ``factor``, at 1/factor of it; the first ``num_renders`` renders are saved
    beside their photos (``<stem>.png``, ``<stem>.gt.png``; fitted to the photo where scored so)."""
    fit = trainer.exposure_model if trainer.exposure_model != "off" else None
    mean_exposure = None
    if trainer.exposure is not None:  # the training photos' average appearance
        idx = torch.tensor([v.index for v in trainer.scene.train], device=trainer.device)
        mean_exposure = trainer.exposure[idx].mean(0)
    rows: list[dict[str, Any]] = []
    for i, full_view in enumerate(trainer.scene.test):
        view = full_view.downscaled(factor)
        out = trainer.render(view, min(trainer.cfg.sh_degree, trainer.step // trainer.cfg.sh_degree_interval))
        img = out.image
        if mean_exposure is not None:
            img = img @ mean_exposure[:, :3].T + mean_exposure[:, 3]
        gt = view.image(trainer.device)
        row: dict[str, Any] = {"image": view.name, "psnr": psnr(img.clamp(0, 1), gt), "ssim": float(ssim(img.clamp(0, 1), gt))}
        if fit is not None:
            row["psnr_at_mean_exposure"], row["ssim_at_mean_exposure"] = row["psnr"], row["ssim"]
            img = fit_to_photo(img, gt, fit)
            row["psnr"], row["ssim"] = psnr(img, gt), float(ssim(img, gt))
        row["equivalent_blur"] = equivalent_blur(img, gt)
        row["coverage"] = float((out.alpha >= COVERED_ALPHA).float().mean())
        rows.append(row)
        if render_dir is not None and i < num_renders:
            render_dir.mkdir(parents=True, exist_ok=True)
            save_png(render_dir / f"{view.stem}.png", img.clamp(0, 1))
            save_png(render_dir / f"{view.stem}.gt.png", gt)
    if not rows:
        return {"psnr": float("nan"), "ssim": float("nan"), "coverage": float("nan"), "equivalent_blur": float("nan"), "images": []}
    ev: dict[str, Any] = {key: _mean(rows, key) for key in ("psnr", "ssim", "coverage")}
    ev["equivalent_blur"] = statistics.median_low([r["equivalent_blur"] for r in rows])
    ev["exposure_fitted"] = fit  # None: scored as rendered
    if fit is not None:
        ev["psnr_at_mean_exposure"] = _mean(rows, "psnr_at_mean_exposure")
        ev["ssim_at_mean_exposure"] = _mean(rows, "ssim_at_mean_exposure")
    ev["images"] = rows
    return ev
