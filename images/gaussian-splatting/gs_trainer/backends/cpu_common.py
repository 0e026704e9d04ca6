"""Culling, tile binning and SH colours shared by the two CPU compositors (the PyTorch one in
``torch_tiles.py`` and the compiled one in ``cpp_tiles.py``), after the projection of
``projection.py``; gsplat's maths, classic mode. Each per-Gaussian step (projection, binning,
colours) is a field of :class:`Kernels`: PyTorch's here, compiled twins in ``cpp_tiles.py``.

* culling: behind the near plane (0.01), outside the image, or degenerate;
* tiling: 16x16 px tiles; a Gaussian is listed in every tile where its alpha reaches 1/255
  at some pixel centre (box of sqrt(2 ln(255 o)) sigma per axis, then an exact ellipse-vs-tile
  test), so the tile lists never change a pixel's value (gsplat instead cuts at 3 sigma).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from . import CLASSIC, SH, RenderMode, sh_tensor
from ..sh import eval_sh
from .projection import Projected, extents, project

TILE = 16
ALPHA_MIN = 1.0 / 255.0
ALPHA_MAX = 0.99
T_MIN = 1e-4


@dataclass
class TileLists:
    """Which Gaussians (visible-subset indices, depth-sorted) each tile composites."""

    gauss: Tensor  # [M] visible-subset index of each (tile, Gaussian) pair, sorted by tile then depth
    tile: Tensor  # [M] tile of each pair
    start: Tensor  # [tiles] offset of each tile's list in ``gauss``
    count: Tensor  # [tiles]
    tiles_x: int
    tiles_y: int


def _rect_min_quadratic(d0x: Tensor, d0y: Tensor, a: Tensor, b: Tensor, c: Tensor, h: float) -> Tensor:
    """min of a x^2 + 2 b x y + c y^2 over x in [d0x-h, d0x+h], y in [d0y-h, d0y+h] (a, c > 0)."""
    inside = (d0x.abs() <= h) & (d0y.abs() <= h)
    best = torch.full_like(d0x, float("inf"))
    for sx in (-h, h):  # vertical edges: x fixed, minimise over y
        x = d0x + sx
        y = (-b * x / c).clamp(d0y - h, d0y + h)
        best = torch.minimum(best, a * x * x + 2 * b * x * y + c * y * y)
    for sy in (-h, h):  # horizontal edges: y fixed
        y = d0y + sy
        x = (-b * y / a).clamp(d0x - h, d0x + h)
        best = torch.minimum(best, a * x * x + 2 * b * x * y + c * y * y)
    return torch.where(inside, torch.zeros_like(best), best)


def bin_tiles(
    means2d: Tensor, ext: Tensor, depths: Tensor, conics: Tensor, opacities: Tensor, width: int, height: int
) -> TileLists:
    """(tile, Gaussian) pairs: every tile the extent's bounding box touches, kept only if the
    Gaussian's alpha reaches 1/255 at some pixel centre of the tile (exact ellipse-vs-tile test)."""
    tiles_x = (width + TILE - 1) // TILE
    tiles_y = (height + TILE - 1) // TILE
    n = means2d.shape[0]
    if n == 0:
        z = torch.zeros(tiles_x * tiles_y, dtype=torch.long)
        e = torch.zeros(0, dtype=torch.long)
        return TileLists(e, e.clone(), z, z.clone(), tiles_x, tiles_y)
    lo = torch.floor((means2d - ext) / TILE).long()
    hi = torch.floor((means2d + ext) / TILE).long() + 1
    x0 = lo[:, 0].clamp(0, tiles_x)
    x1 = hi[:, 0].clamp(0, tiles_x)
    y0 = lo[:, 1].clamp(0, tiles_y)
    y1 = hi[:, 1].clamp(0, tiles_y)
    w = (x1 - x0).clamp_min(0)
    h = (y1 - y0).clamp_min(0)
    per = w * h
    total = int(per.sum())
    order = torch.argsort(depths)  # depth rank of each Gaussian
    rank = torch.empty_like(order)
    rank[order] = torch.arange(n)
    gid = torch.repeat_interleave(torch.arange(n), per, output_size=total)
    first = torch.cumsum(per, 0) - per
    local = torch.arange(total) - first[gid]
    wg = w[gid]
    tx = x0[gid] + local % wg
    ty = y0[gid] + local // wg
    # exact test against the tile's pixel centres
    half = TILE / 2
    d0x = (tx.to(means2d.dtype) * TILE + half) - means2d[gid, 0]
    d0y = (ty.to(means2d.dtype) * TILE + half) - means2d[gid, 1]
    con = conics[gid]
    qmin = _rect_min_quadratic(d0x, d0y, con[:, 0], con[:, 1], con[:, 2], half - 0.5)
    ok = -0.5 * qmin + torch.log(opacities[gid]) >= math.log(ALPHA_MIN)
    gid, tx, ty = gid[ok], tx[ok], ty[ok]
    tile = ty * tiles_x + tx
    key = tile * n + rank[gid]
    srt = torch.argsort(key)
    count = torch.bincount(tile, minlength=tiles_x * tiles_y)
    start = torch.cumsum(count, 0) - count
    return TileLists(gid[srt], tile[srt], start, count, tiles_x, tiles_y)


def torch_colors(sh_degree: int, sh: SH, means: Tensor, ids: Tensor, cam_center: Tensor) -> Tensor:
    """The visible Gaussians' colours [V, 3] along the view direction (gsplat's +0.5 and clamp)."""
    return torch.clamp_min(eval_sh(sh_degree, sh_tensor(sh)[ids], means[ids] - cam_center) + 0.5, 0.0)


# (means, quats, scales, viewmat, K, width, height) -> Projected
Projector = Callable[[Tensor, Tensor, Tensor, Tensor, Tensor, int, int], Projected]
# (means2d, ext, depths, conics, opacities, width, height) -> lists
Binner = Callable[[Tensor, Tensor, Tensor, Tensor, Tensor, int, int], TileLists]
# (sh_degree, sh, means, ids, cam_center) -> colours [V, 3]; ids are distinct
Colorer = Callable[[int, SH, Tensor, Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class Kernels:
    """The per-Gaussian steps of :func:`prepare`: PyTorch's here, their compiled twins in cpp_tiles."""

    project: Projector = project
    bin_tiles: Binner = bin_tiles
    colors: Colorer = torch_colors


TORCH_KERNELS = Kernels()


@dataclass
class Prepared:
    """What both CPU compositors take: the visible Gaussians, projected, binned and coloured."""

    means2d: Tensor  # [N, 2] of all Gaussians (retains its gradient for densification)
    radii: Tensor  # [N]
    ids: Tensor  # [V] the visible Gaussians
    ext: Tensor  # [V, 2] per-axis pixel reach (alpha >= 1/255)
    conics: Tensor  # [V, 3]
    opacities: Tensor  # [V]
    colors: Tensor  # [V, 3]
    lists: TileLists
    background: Tensor
    absgrad: AbsGradSink | None


@dataclass
class AbsGradSink:
    """Where a compositor's backward adds, per Gaussian, the sum over pixels of the absolute
    per-pixel gradient of its 2D mean (gsplat's absgrad)."""

    ids: Tensor  # [V] visible subset -> Gaussian
    total: Tensor  # [N, 2], zero until backward

    def add(self, per_pair: Tensor, pair_gauss: Tensor) -> None:
        """per_pair [M, 2] of the (tile, Gaussian) pairs whose visible-subset index is pair_gauss."""
        per_visible = per_pair.new_zeros(self.ids.shape[0], 2).index_add_(0, pair_gauss, per_pair)
        self.total.index_add_(0, self.ids, per_visible.to(self.total.dtype))


def prepare(
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
    kernels: Kernels = TORCH_KERNELS,
    mode: RenderMode = CLASSIC,
) -> Prepared:
    dtype = means.dtype
    bg = background if background is not None else torch.zeros(3, dtype=dtype)
    proj = kernels.project(means, quats, scales, viewmat, K, width, height)
    if mode.antialiased:  # every later step (culling, extents, tiles, alphas) sees the compensated opacity
        opacities = opacities * proj.compensation
    means2d = proj.means2d
    if means2d.requires_grad:
        means2d.retain_grad()
    with torch.no_grad():
        ext = extents(proj.cov2d, opacities)
        inside = (
            (means2d[:, 0] + ext[:, 0] > 0)
            & (means2d[:, 0] - ext[:, 0] < width)
            & (means2d[:, 1] + ext[:, 1] > 0)
            & (means2d[:, 1] - ext[:, 1] < height)
        )
        vis = proj.visible & inside & (opacities >= ALPHA_MIN)
        ids = torch.nonzero(vis).flatten()
        lists = kernels.bin_tiles(means2d[ids], ext[ids], proj.depths[ids], proj.conics[ids], opacities[ids], width, height)
        radii = torch.zeros(means.shape[0], dtype=torch.long)
        radii[ids] = torch.ceil(ext[ids].max(dim=-1).values).long().clamp_min(1)
    cam_center = -viewmat[:3, :3].T @ viewmat[:3, 3]
    colors = kernels.colors(sh_degree, sh, means, ids, cam_center)
    sink = AbsGradSink(ids, torch.zeros(means.shape[0], 2, dtype=dtype)) if mode.absgrad else None
    return Prepared(means2d, radii, ids, ext[ids], proj.conics[ids], opacities[ids], colors, lists, bg.to(dtype), sink)
