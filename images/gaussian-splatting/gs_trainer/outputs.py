"""The stage's output files besides the PLY: PNG renders, cameras.json, and the peak memory figure."""

from __future__ import annotations

import resource
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image as PILImage
from torch import Tensor

from .data import Scene


def save_png(path: Path, img: Tensor) -> None:
    arr = (img.detach().clamp(0, 1).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)
    PILImage.fromarray(arr).save(path)


def cameras_json(scene: Scene) -> list[dict[str, Any]]:
    """Like the 3DGS reference's cameras.json (camera-to-world rotation, position), plus
    cx, cy and held_out. Intrinsics are for the full-resolution SfM images."""
    out = []
    for v in scene.views:
        w2c = v.viewmat.double().numpy()
        R = w2c[:3, :3]
        c2w_rot = R.T
        pos = -R.T @ w2c[:3, 3]
        out.append(
            {
                "id": v.index,
                "img_name": v.stem,
                "width": v.full_width,
                "height": v.full_height,
                "position": [float(x) for x in pos],
                "rotation": [[float(x) for x in row] for row in c2w_rot],
                "fx": float(v.full_K[0, 0]),
                "fy": float(v.full_K[1, 1]),
                "cx": float(v.full_K[0, 2]),
                "cy": float(v.full_K[1, 2]),
                "held_out": v.held_out,
            }
        )
    return out


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
