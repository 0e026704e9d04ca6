"""``projection.project`` in C++ (``csrc/projection.cpp``) for the compiled backend: the same
outputs, and its backward in one pass per Gaussian instead of PyTorch's chain of elementwise
operations over all N Gaussians (the per-Gaussian work that dominated a step beyond 100k)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .compiled import ops
from .projection import Projected


def _or_zeros(g: Tensor | None, like: Tensor, *shape: int) -> Tensor:
    """An output's gradient, zeros where autograd passes none (the output was not used)."""
    return like.new_zeros(shape) if g is None else g.contiguous()


class _ProjectCpp(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any, means: Tensor, quats: Tensor, scales: Tensor, viewmat: Tensor, K: Tensor, width: int, height: int
    ) -> tuple[Tensor, ...]:
        ins = tuple(t.contiguous() for t in (means, quats, scales))
        outs: tuple[Tensor, ...] = ops().project_forward(*ins, viewmat, K, width, height)
        ctx.save_for_backward(*ins, viewmat, K)
        ctx.size = (width, height)
        ctx.mark_non_differentiable(outs[4])  # visible
        return outs

    @staticmethod
    def backward(
        ctx: Any, g2: Tensor | None, gc: Tensor | None, gv: Tensor | None, gd: Tensor | None, _gvis: Any, gk: Tensor | None
    ) -> tuple[Tensor | None, ...]:
        means, quats, scales, viewmat, K = ctx.saved_tensors
        n = means.shape[0]
        grads = ops().project_backward(
            means, quats, scales, viewmat, K, *ctx.size,
            _or_zeros(g2, means, n, 2), _or_zeros(gc, means, n, 3), _or_zeros(gv, means, n, 3),
            _or_zeros(gd, means, n), _or_zeros(gk, means, n),
        )
        return (*grads, None, None, None, None)


def project_cpp(
    means: Tensor, quats: Tensor, scales: Tensor, viewmat: Tensor, K: Tensor, width: int, height: int
) -> Projected:
    """What ``projection.project`` returns, computed by the compiled extension (CPU tensors)."""
    means2d, conics, cov2d, depths, visible, comp = _ProjectCpp.apply(means, quats, scales, viewmat, K, width, height)
    return Projected(means2d=means2d, conics=conics, cov2d=cov2d, depths=depths, visible=visible, compensation=comp)
