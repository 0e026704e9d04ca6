"""``cpu_common.torch_colors`` in C++ (``csrc/sh_colors.cpp``) for the compiled backend: the
visible Gaussians' view-dependent colours from their SH coefficients, and the backward, in one
pass per Gaussian (no [V, 16, 3] gather, no basis tensors, no zero-filled scatter per step). The
coefficients are read as the trainer keeps them, band 0 and the rest (``backends.SH``), and their
gradients returned apart, so no step copies them into one tensor and back."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from . import SH
from .compiled import ops


class _ShColorsCpp(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, sh0: Tensor, shN: Tensor, means: Tensor, ids: Tensor, cam: Tensor, degree: int) -> Tensor:
        ins = tuple(t.contiguous() for t in (sh0, shN, means, ids, cam))
        colors: Tensor = ops().sh_colors_forward(*ins, degree)
        ctx.save_for_backward(*ins)
        ctx.degree = degree
        return colors

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Tensor | None, ...]:
        sh0, shN, means, ids, cam = ctx.saved_tensors
        g_sh0, g_shN, g_means = ops().sh_colors_backward(sh0, shN, means, ids, cam, ctx.degree, g.contiguous())
        return g_sh0, g_shN, g_means, None, None, None


def colors_cpp(sh_degree: int, sh: SH, means: Tensor, ids: Tensor, cam_center: Tensor) -> Tensor:
    """clamp_min(eval_sh(sh_degree, sh[ids], means[ids] - cam_center) + 0.5, 0): [V, 3]. ``sh``: one
    [N, K, 3] tensor (its bands are views, so its gradient is one too) or the pair (sh0, shN)."""
    sh0, shN = (sh[:, :1], sh[:, 1:]) if isinstance(sh, Tensor) else sh
    out: Tensor = _ShColorsCpp.apply(sh0, shN, means, ids, cam_center.to(means.dtype), sh_degree)
    return out
