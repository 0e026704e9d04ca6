"""Held-out quality gate: a trained model that is a blur, or that leaves parts of the held-out
photos empty, must not pass as a plain success.

The result is the stages' shared ``warnings`` shape, a list of ``{"code", "message"}`` in the
stage's report (``metrics.json``); the pipeline carries it to the delivery's report, the job's
status and the email. Coverage is the fraction of a held-out photo's pixels where the model's
accumulated opacity reaches ``COVERED_ALPHA`` (a hole or a missing part of the site shows the
background there).
"""

from __future__ import annotations

import math
from typing import Any

from .metrics import BLUR_CAP

COVERED_ALPHA = 0.5
# what to try next, by preset: more steps and resolution, then more photos
NEXT_STEP = {
    "preview": "try quality standard",
    "standard": "try quality high",
    "high": "fly more photos with more overlap",
}


def warnings_for(
    ev: dict[str, Any], quality: str, psnr_floor: float, coverage_floor: float, blur_floor: float = 0.0
) -> list[dict[str, str]]:
    """``ev``: Trainer.evaluate's result (mean ``psnr``, ``ssim``, ``coverage``, the lower median
    ``equivalent_blur`` and per-image rows). Blurry: held-out PSNR under ``psnr_floor``, or most
    held-out photos' equivalent blur above ``blur_floor`` of the width (a smooth model of a
    low-contrast site passes any PSNR floor; held_out.py)."""
    rows = ev.get("images", [])
    if not rows:
        return [{
            "code": "quality_not_measured",
            "message": "no photo was held out, so the model's quality was not measured (set holdout_every or holdout)",
        }]
    out: list[dict[str, str]] = []
    hint = NEXT_STEP.get(quality, NEXT_STEP["standard"])
    psnr = float(ev["psnr"])
    blur = float(ev.get("equivalent_blur", math.nan))
    if psnr_floor > 0 and not (psnr >= psnr_floor):  # NaN fails too
        worst = min(rows, key=lambda r: r["psnr"] if not math.isnan(r["psnr"]) else -1.0)
        out.append({
            "code": "model_blurry",
            "message": (
                f"the model is blurry: held-out {psnr:.1f} dB (below {psnr_floor:g} dB; "
                f"worst {worst['image']} {worst['psnr']:.1f} dB); {hint}"
            ),
        })
    elif blur_floor > 0 and blur > blur_floor:
        out.append({
            "code": "model_blurry",
            "message": (
                f"the model is blurry: the held-out photos are matched only by themselves blurred over "
                f"{_share(blur)} of their width (above {_share(blur_floor)}; held-out {psnr:.1f} dB); {hint}"
            ),
        })
    cov = float(ev["coverage"])
    if coverage_floor > 0 and cov < coverage_floor:
        out.append({
            "code": "model_incomplete",
            "message": (
                f"the model covers {100 * cov:.0f}% of the held-out photos (below {100 * coverage_floor:.0f}%): "
                "parts of the site are missing; check that the photos overlap there"
            ),
        })
    return out


def _share(x: float) -> str:
    """A share of the width in words: BLUR_CAP, where equivalent_blur stops, is "a quarter or more"."""
    return "a quarter or more" if x >= BLUR_CAP else f"{100 * x:.2g}%"
