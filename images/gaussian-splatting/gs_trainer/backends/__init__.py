"""Rasterizer backends behind one interface.

``rasterize(backend, ...)`` renders one camera. Both backends take the same inputs
(activated parameters: unit-free quaternions, positive scales, opacities in (0,1), SH
coefficients [N, K, 3]) and return a :class:`RenderOutput`. ``torch`` is the pure-PyTorch
tile rasterizer (CPU, any device); ``gsplat`` calls gsplat's CUDA ``rasterization``
(imported lazily, so CPU installs never need gsplat).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

Backend = Literal["torch", "gsplat"]


@dataclass
class RenderOutput:
    image: Tensor  # [H, W, 3]
    alpha: Tensor  # [H, W]
    means2d: Tensor  # [N, 2] pixel coordinates; .grad is filled by backward (densification)
    radii: Tensor  # [N] int, 0 where the Gaussian was culled
    width: int
    height: int


def resolve_backend(requested: str, device: torch.device) -> Backend:
    """``auto`` picks gsplat on CUDA when it is importable, the torch backend otherwise."""
    if requested == "auto":
        if device.type == "cuda":
            try:
                import gsplat  # noqa: F401

                return "gsplat"
            except ImportError:
                return "torch"
        return "torch"
    if requested == "gsplat":
        if device.type != "cuda":
            raise ValueError("backend=gsplat needs a CUDA device; use backend=torch or auto on CPU")
        return "gsplat"
    if requested == "torch":
        return "torch"
    raise ValueError(f"unknown backend '{requested}' (expected auto, torch or gsplat)")


def rasterize(
    backend: Backend,
    means: Tensor,
    quats: Tensor,
    scales: Tensor,
    opacities: Tensor,
    sh: Tensor,
    viewmat: Tensor,
    K: Tensor,
    width: int,
    height: int,
    sh_degree: int,
    background: Tensor | None = None,
) -> RenderOutput:
    if backend == "torch":
        from .torch_tiles import rasterize_torch

        return rasterize_torch(means, quats, scales, opacities, sh, viewmat, K, width, height, sh_degree, background)
    if backend == "gsplat":
        from .gsplat_backend import rasterize_gsplat

        return rasterize_gsplat(means, quats, scales, opacities, sh, viewmat, K, width, height, sh_degree, background)
    raise ValueError(f"unknown backend '{backend}'")
