"""The compiled CPU backend: ``cpu_common.prepare`` (culling in PyTorch) with its per-Gaussian
kernels in C++/OpenMP (projection ``csrc/projection.cpp``, tile binning ``csrc/binning.cpp``: the
same lists as ``cpu_common.bin_tiles``, SH colours ``csrc/sh_colors.cpp``), then compositing with
its backward (``csrc/tiles.cpp``). Same inputs and outputs as ``rasterize_torch``."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from . import CLASSIC, SH, RenderMode, RenderOutput
from .compiled import ops
from .cpp_colors import colors_cpp
from .cpp_projection import project_cpp
from .cpu_common import TILE, AbsGradSink, Kernels, TileLists, prepare


def bin_tiles_cpp(
    means2d: Tensor, ext: Tensor, depths: Tensor, conics: Tensor, opacities: Tensor, width: int, height: int
) -> TileLists:
    """``cpu_common.bin_tiles`` in C++ (same lists, ties in depth ordered by index)."""
    ins = tuple(t.contiguous() for t in (means2d, ext, depths, conics, opacities))
    gauss, tile, start, count = ops().bin_tiles(*ins, width, height)
    return TileLists(gauss, tile, start, count, (width + TILE - 1) // TILE, (height + TILE - 1) // TILE)


CPP_KERNELS = Kernels(project=project_cpp, bin_tiles=bin_tiles_cpp, colors=colors_cpp)


def _lists_args(lists: TileLists) -> tuple[Tensor, Tensor, Tensor, int]:
    return lists.start.contiguous(), lists.count.contiguous(), lists.gauss.contiguous(), lists.tiles_x


class _CompositeCpp(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        means2d: Tensor,
        conics: Tensor,
        opacities: Tensor,
        colors: Tensor,
        background: Tensor,
        ext: Tensor,
        lists: TileLists,
        width: int,
        height: int,
        sink: AbsGradSink | None,
    ) -> tuple[Tensor, Tensor]:
        ins = tuple(t.contiguous() for t in (means2d, conics, opacities, colors, ext))
        color, t_final, last = ops().tiles_forward(*ins, *_lists_args(lists), width, height)
        ctx.save_for_backward(*ins, background, t_final, last)
        ctx.lists, ctx.size, ctx.sink = lists, (width, height), sink
        return color + t_final[..., None] * background, 1.0 - t_final

    @staticmethod
    def backward(ctx: Any, g_img: Tensor, g_alpha: Tensor) -> tuple[Tensor | None, ...]:
        means2d, conics, opacities, colors, ext, background, t_final, last = ctx.saved_tensors
        lists: TileLists = ctx.lists
        width, height = ctx.size
        g_img, g_alpha = g_img.contiguous(), g_alpha.contiguous()
        sink: AbsGradSink | None = ctx.sink
        g_pair = ops().tiles_backward(
            means2d, conics, opacities, colors, ext, *_lists_args(lists), width, height,
            background.contiguous(), t_final, last, g_img, g_alpha, sink is not None,
        )
        # per-pair rows summed per Gaussian in the lists' fixed order: deterministic
        g = torch.zeros(means2d.shape[0], 9, dtype=g_pair.dtype).index_add_(0, lists.gauss, g_pair[:, :9])
        if sink is not None:  # columns 9, 10: sum of |per-pixel d loss / d means2d|
            sink.add(g_pair[:, 9:11], lists.gauss)
        d_bg = (t_final[..., None] * g_img).sum((0, 1))
        return g[:, :2], g[:, 2:5], g[:, 5], g[:, 6:9], d_bg, None, None, None, None, None


def rasterize_cpp(
    means: Tensor,
    quats: Tensor,
    scales: Tensor,
    opacities: Tensor,
    sh: SH,
    viewmat: Tensor,
    K: Tensor,
    width: int,
    height: int,
    sh_degree: int,
    background: Tensor | None = None,
    mode: RenderMode = CLASSIC,
) -> RenderOutput:
    p = prepare(means, quats, scales, opacities, sh, viewmat, K, width, height, sh_degree, background, CPP_KERNELS, mode)
    image, alpha = _CompositeCpp.apply(
        p.means2d[p.ids], p.conics, p.opacities, p.colors, p.background, p.ext, p.lists, width, height, p.absgrad
    )
    absgrad = None if p.absgrad is None else p.absgrad.total
    return RenderOutput(image=image, alpha=alpha, means2d=p.means2d, radii=p.radii, width=width, height=height, absgrad=absgrad)
