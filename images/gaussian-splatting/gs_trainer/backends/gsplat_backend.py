"""gsplat's CUDA rasterizer behind the common interface (imported lazily), with RenderMode as
gsplat's own rasterize_mode and absgrad arguments."""

from __future__ import annotations

import torch
from torch import Tensor

from . import CLASSIC, RenderMode, RenderOutput


def rasterize_gsplat(
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
    mode: RenderMode = CLASSIC,
) -> RenderOutput:
    from gsplat import rasterization  # lazy: only the CUDA image has gsplat

    bg = None if background is None else background.reshape(1, 3)
    colors, alphas, meta = rasterization(
        means=means,
        quats=quats,
        scales=scales,
        opacities=opacities,
        colors=sh,
        viewmats=viewmat[None],
        Ks=K[None],
        width=width,
        height=height,
        sh_degree=sh_degree,
        backgrounds=bg,
        packed=False,
        near_plane=0.01,
        eps2d=0.3,
        rasterize_mode="antialiased" if mode.antialiased else "classic",
        absgrad=mode.absgrad,  # backward then sets means2d.absgrad (screen_grad reads it)
    )
    means2d: Tensor = meta["means2d"]
    if means2d.requires_grad:
        means2d.retain_grad()
    radii: Tensor = meta["radii"][0]
    if radii.dim() == 2:  # gsplat >= 1.5 returns per-axis radii
        radii = radii.max(dim=-1).values
    return RenderOutput(
        image=colors[0],
        alpha=alphas[0, ..., 0],
        means2d=means2d,  # [1, N, 2]
        radii=radii,
        width=width,
        height=height,
    )

