"""Naive per-pixel renderer with plain autograd, the reference the CPU backends are tested against."""

from __future__ import annotations

import torch
from torch import Tensor

from . import CLASSIC, RenderMode
from ..sh import eval_sh
from .cpu_common import ALPHA_MAX, ALPHA_MIN, T_MIN
from .projection import project


def reference_render(
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
    pixel_offsets: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Naive per-pixel renderer with plain autograd: every pixel against every Gaussian.

    No tiles, no chunking, no custom backward; for tests on small scenes only. ``pixel_offsets``
    ([H*W, N, 2] of zeros, requiring grad) is added to the 2D means per pixel, so after backward
    its gradient holds each pixel's own d loss / d means2d: ``.grad.abs().sum(0)`` is absgrad.
    """
    dtype = means.dtype
    bg = background if background is not None else torch.zeros(3, dtype=dtype)
    proj = project(means, quats, scales, viewmat, K, width, height)
    if mode.antialiased:
        opacities = opacities * proj.compensation
    cam_center = -viewmat[:3, :3].T @ viewmat[:3, 3]
    colors = torch.clamp_min(eval_sh(sh_degree, sh, means - cam_center) + 0.5, 0.0)
    order = torch.argsort(proj.depths.detach())
    order = order[proj.visible[order]]
    m, con, col, op = proj.means2d[order], proj.conics[order], colors[order], opacities[order]
    ys, xs = torch.meshgrid(torch.arange(height, dtype=dtype), torch.arange(width, dtype=dtype), indexing="ij")
    px = torch.stack([xs.flatten(), ys.flatten()], dim=-1) + 0.5  # [P, 2]
    dx = px[:, None, 0] - m[None, :, 0]
    dy = px[:, None, 1] - m[None, :, 1]
    if pixel_offsets is not None:
        dx = dx - pixel_offsets[:, order, 0]
        dy = dy - pixel_offsets[:, order, 1]
    power = -0.5 * (con[None, :, 0] * dx * dx + con[None, :, 2] * dy * dy) - con[None, :, 1] * dx * dy
    raw = op[None] * torch.exp(power)
    alpha = torch.where((power <= 0) & (raw >= ALPHA_MIN), raw.clamp_max(ALPHA_MAX), torch.zeros_like(raw))
    # sequential over Gaussians (front to back), every pixel at once; per pixel this is
    # gsplat's loop: skip alphas under 1/255, stop before the transmittance drops under 1e-4
    T = torch.ones(px.shape[0], dtype=dtype)
    C = torch.zeros(px.shape[0], 3, dtype=dtype)
    done = torch.zeros(px.shape[0], dtype=torch.bool)
    for i in range(alpha.shape[1]):
        a = alpha[:, i]
        nt = T * (1 - a)
        hit = (a > 0) & ~done
        stop = hit & (nt < T_MIN)
        use = hit & ~stop
        C = C + torch.where(use, a * T, torch.zeros_like(a))[:, None] * col[i]
        T = torch.where(use, nt, T)
        done = done | stop
    return (C + T[:, None] * bg).reshape(height, width, 3), (1 - T).reshape(height, width)
