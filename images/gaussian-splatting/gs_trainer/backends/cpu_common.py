"""Projection, culling and tile binning shared by the two CPU compositors (the PyTorch one in
``torch_tiles.py`` and the compiled one in ``cpp_tiles.py``); gsplat's maths, classic mode:

* projection: EWA splatting with the Jacobian's clamp to 1.3x the field of view and a
  0.3 px^2 low-pass added to the 2D covariance;
* culling: behind the near plane (0.01), outside the image, or degenerate;
* tiling: 16x16 px tiles; a Gaussian is listed in every tile where its alpha reaches 1/255
  at some pixel centre (box of sqrt(2 ln(255 o)) sigma per axis, then an exact ellipse-vs-tile
  test), so the tile lists never change a pixel's value (gsplat instead cuts at 3 sigma).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ..sh import eval_sh

TILE = 16
NEAR = 0.01
EPS2D = 0.3
ALPHA_MIN = 1.0 / 255.0
ALPHA_MAX = 0.99
T_MIN = 1e-4


def quat_to_rotmat(quats: Tensor) -> Tensor:
    """[N, 4] (w, x, y, z), not necessarily unit -> [N, 3, 3]."""
    q = quats / quats.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    w, x, y, z = q.unbind(-1)
    return torch.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ],
        dim=-1,
    ).reshape(-1, 3, 3)


@dataclass
class Projected:
    means2d: Tensor  # [N, 2]
    conics: Tensor  # [N, 3] (a, b, c) of the inverse 2D covariance
    cov2d: Tensor  # [N, 3] (xx, xy, yy)
    depths: Tensor  # [N]
    visible: Tensor  # [N] bool


def project(
    means: Tensor, quats: Tensor, scales: Tensor, viewmat: Tensor, K: Tensor, width: int, height: int
) -> Projected:
    R = viewmat[:3, :3]
    t = viewmat[:3, 3]
    p = means @ R.T + t
    x, y, z = p.unbind(-1)
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    in_front = z > NEAR
    zs = torch.where(in_front, z, torch.ones_like(z))
    # Jacobian of the perspective projection, with gsplat's clamp of x/z and y/z.
    tan_fovx = 0.5 * width / fx
    tan_fovy = 0.5 * height / fy
    lim_x_pos = (width - cx) / fx + 0.3 * tan_fovx
    lim_x_neg = cx / fx + 0.3 * tan_fovx
    lim_y_pos = (height - cy) / fy + 0.3 * tan_fovy
    lim_y_neg = cy / fy + 0.3 * tan_fovy
    tx = zs * torch.minimum(lim_x_pos, torch.maximum(-lim_x_neg, x / zs))
    ty = zs * torch.minimum(lim_y_pos, torch.maximum(-lim_y_neg, y / zs))
    zero = torch.zeros_like(zs)
    J = torch.stack(
        [fx / zs, zero, -fx * tx / (zs * zs), zero, fy / zs, -fy * ty / (zs * zs)], dim=-1
    ).reshape(-1, 2, 3)
    Rq = quat_to_rotmat(quats)
    M = Rq * scales[:, None, :]  # R S
    cov3d = M @ M.transpose(1, 2)
    T = J @ R  # world -> image plane Jacobian, [N, 2, 3]
    cov = T @ cov3d @ T.transpose(1, 2)
    cxx = cov[:, 0, 0] + EPS2D
    cxy = cov[:, 0, 1]
    cyy = cov[:, 1, 1] + EPS2D
    det = cxx * cyy - cxy * cxy
    ok = in_front & (det > 0)
    det_s = torch.where(ok, det, torch.ones_like(det))
    conics = torch.stack([cyy / det_s, -cxy / det_s, cxx / det_s], dim=-1)
    means2d = torch.stack([fx * x / zs + cx, fy * y / zs + cy], dim=-1)
    return Projected(
        means2d=means2d,
        conics=conics,
        cov2d=torch.stack([cxx, cxy, cyy], dim=-1),
        depths=z,
        visible=ok,
    )


def extents(cov2d: Tensor, opacities: Tensor) -> Tensor:
    """Per-axis pixel half-extent beyond which alpha < 1/255: sqrt(2 ln(255 o)) sigma, up to
    3.33 sigma (gsplat cuts at 3 sigma; beyond it an opaque Gaussian's alpha is still up to 0.011)."""
    k = torch.sqrt(2.0 * torch.log((255.0 * opacities).clamp_min(1.0)))
    return torch.stack([k * cov2d[:, 0].sqrt(), k * cov2d[:, 2].sqrt()], dim=-1)


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


def prepare(
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
) -> Prepared:
    dtype = means.dtype
    bg = background if background is not None else torch.zeros(3, dtype=dtype)
    proj = project(means, quats, scales, viewmat, K, width, height)
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
        lists = bin_tiles(
            means2d[ids], ext[ids], proj.depths[ids], proj.conics[ids], opacities[ids], width, height
        )
        radii = torch.zeros(means.shape[0], dtype=torch.long)
        radii[ids] = torch.ceil(ext[ids].max(dim=-1).values).long().clamp_min(1)
    cam_center = -viewmat[:3, :3].T @ viewmat[:3, 3]
    dirs = means[ids] - cam_center
    colors = torch.clamp_min(eval_sh(sh_degree, sh[ids], dirs) + 0.5, 0.0)
    return Prepared(means2d, radii, ids, ext[ids], proj.conics[ids], opacities[ids], colors, lists, bg.to(dtype))
