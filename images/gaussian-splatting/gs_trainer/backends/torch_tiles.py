"""Pure-PyTorch tile rasterizer for 3D Gaussians (forward and backward), CPU-friendly.

Same maths as gsplat's ``rasterization`` in ``classic`` mode:

* projection: EWA splatting with the Jacobian's clamp to 1.3x the field of view and a
  0.3 px^2 low-pass added to the 2D covariance;
* culling: behind the near plane (0.01), outside the image, or degenerate;
* tiling: 16x16 px tiles; a Gaussian is listed in every tile where its alpha reaches 1/255
  at some pixel centre (box of sqrt(2 ln(255 o)) sigma per axis, then an exact ellipse-vs-tile
  test), so the tile lists never change a pixel's value (gsplat instead cuts at 3 sigma);
* compositing: front-to-back by camera depth, alpha = min(0.99, o exp(-d^T Sigma^-1 d / 2)),
  alphas under 1/255 skipped, stop when the transmittance would fall under 1e-4.

Everything is vectorised: Gaussians are projected in one pass, (tile, Gaussian) pairs
are built with ``repeat_interleave`` and sorted once, and tiles are composited in chunks
of similar load as dense [tiles, 256 px, K] tensors. Compositing is a custom autograd
``Function`` whose backward recomputes alphas chunk by chunk (no [pixels x Gaussians]
tensor is kept between forward and backward) and uses the closed-form gradient of
front-to-back compositing (suffix sums instead of a Python loop).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..sh import eval_sh
from . import RenderOutput
from .projection import extents, project, quat_to_rotmat

__all__ = ["quat_to_rotmat", "rasterize_torch", "reference_render"]

TILE = 16
ALPHA_MIN = 1.0 / 255.0
ALPHA_MAX = 0.99
T_MIN = 1e-4
# elements of one [tiles, pixels, K] tensor per chunk: bounds peak memory of a step.
CHUNK_ELEMS = 1 << 21
LOG2E = 1.0 / math.log(2.0)
LN2 = math.log(2.0)


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


def pair_coefficients(means2d: Tensor, conics: Tensor, opacities: Tensor, lists: TileLists) -> Tensor:
    """Per (tile, Gaussian) pair, the 6 coefficients of log alpha as a quadratic in the pixel's
    offset (u, v) from the tile centre: [u^2, uv, v^2, u, v, 1] . coef = log2(o) - log2(e) d^T Sigma^-1 d / 2
    (base 2: ``exp2`` is several times faster than ``exp`` on CPU).
    Differentiable (plain autograd) w.r.t. means2d, conics and opacities."""
    g = lists.gauss
    half = TILE / 2
    tx = (lists.tile % lists.tiles_x).to(means2d.dtype)
    ty = (lists.tile // lists.tiles_x).to(means2d.dtype)
    d0x = tx * TILE + half - means2d[g, 0]
    d0y = ty * TILE + half - means2d[g, 1]
    a, b, c = conics[g].unbind(-1)
    return LOG2E * torch.stack(
        [
            -0.5 * a,
            -b,
            -0.5 * c,
            -(a * d0x + b * d0y),
            -(b * d0x + c * d0y),
            -0.5 * (a * d0x * d0x + c * d0y * d0y) - b * d0x * d0y + torch.log(opacities[g]),
        ],
        dim=-1,
    )


def _chunks(lists: TileLists) -> list[tuple[Tensor, int]]:
    """Groups non-empty tiles (heaviest first) so a chunk's [B, 256, K] stays under CHUNK_ELEMS."""
    counts = lists.count
    nonempty = torch.nonzero(counts > 0).flatten()
    if nonempty.numel() == 0:
        return []
    order = nonempty[torch.argsort(counts[nonempty], descending=True)]
    c = counts[order].tolist()
    out: list[tuple[Tensor, int]] = []
    i = 0
    px = TILE * TILE
    while i < len(c):
        k = c[i]
        b = max(1, CHUNK_ELEMS // (px * k))
        out.append((order[i : i + b], k))
        i += b
    return out


def _features(dtype: torch.dtype) -> Tensor:
    """[6, 256]: u^2, uv, v^2, u, v, 1 for the pixel centres of a tile, relative to its centre."""
    r = torch.arange(TILE, dtype=dtype) + 0.5 - TILE / 2
    v, u = torch.meshgrid(r, r, indexing="ij")
    u, v = u.flatten(), v.flatten()
    return torch.stack([u * u, u * v, v * v, u, v, torch.ones_like(u)])


def _chunk_pairs(lists: TileLists, tiles: Tensor, k: int, pad: int) -> Tensor:
    """[B, k] pair indices for the tiles' lists (depth order), padded with ``pad``."""
    ar = torch.arange(k)
    pos = lists.start[tiles][:, None] + ar[None]
    valid = ar[None] < lists.count[tiles][:, None]
    return torch.where(valid, pos, torch.full_like(pos, pad))


def _alphas(feat_t: Tensor, coef: Tensor) -> tuple[Tensor, Tensor]:
    """alpha [B, P, K] (0 where skipped) and the unclamped value exp(log-alpha).

    Masks are applied by multiplying with bool tensors: ``torch.where`` is several times
    slower on CPU for tensors of this size."""
    b, k, _ = coef.shape
    # one [P, 6] x [6, B*K] GEMM (much faster than a batched matmul with inner size 6)
    raw = torch.exp2(torch.mm(feat_t, coef.reshape(b * k, 6).T)).view(-1, b, k).transpose(0, 1)
    alpha = torch.threshold(raw, ALPHA_MIN, 0.0).clamp_max_(ALPHA_MAX)  # x if x > 1/255 else 0
    return alpha, raw


def _weights(alpha: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
    """Compositing weights w = alpha T (0 after the early stop), T before each Gaussian, and the
    early-stop mask (None when no pixel of the chunk stops early: the common case, which then
    skips two full passes)."""
    incl = torch.cumprod(1.0 - alpha, dim=-1)
    excl = torch.cat([torch.ones_like(incl[..., :1]), incl[..., :-1]], dim=-1)
    w = alpha * excl
    keep: Tensor | None = None
    if float(incl[..., -1].min()) < T_MIN:  # incl is non-increasing: the last entry is the minimum
        keep = incl >= T_MIN
        w = w * keep
    return w, excl, keep


_PAD_COEF = (0.0, 0.0, 0.0, 0.0, 0.0, -200.0)  # alpha = 2^-200: skipped


class _Composite(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        coef: Tensor,
        colors: Tensor,
        background: Tensor,
        lists: TileLists,
        width: int,
        height: int,
    ) -> tuple[Tensor, Tensor]:
        dtype = coef.dtype
        m = coef.shape[0]
        tx, ty = lists.tiles_x, lists.tiles_y
        cf = torch.cat([coef, coef.new_tensor(_PAD_COEF)[None]])  # row m: transparent dummy pair
        pcol = torch.cat([colors[lists.gauss], colors.new_zeros(1, 3)])
        feat_t = _features(dtype).T.contiguous()
        img = background.to(dtype).expand(tx * ty, TILE * TILE, 3).clone()
        alpha_out = torch.zeros(tx * ty, TILE * TILE, dtype=dtype)
        for tiles, k in _chunks(lists):
            idx = _chunk_pairs(lists, tiles, k, m)
            alpha, _ = _alphas(feat_t, cf[idx])
            w, _, _ = _weights(alpha)
            acc = w.sum(-1)
            img[tiles] = torch.bmm(w, pcol[idx]) + (1.0 - acc)[..., None] * background
            alpha_out[tiles] = acc
        ctx.save_for_backward(coef, colors, background)
        ctx.lists = lists
        return _untile(img, tx, ty, width, height), _untile(alpha_out[..., None], tx, ty, width, height)[..., 0]

    @staticmethod
    def backward(ctx: Any, g_img: Tensor, g_alpha: Tensor) -> tuple[Tensor | None, ...]:
        coef, colors, background = ctx.saved_tensors
        lists: TileLists = ctx.lists
        dtype = coef.dtype
        m = coef.shape[0]
        tx, ty = lists.tiles_x, lists.tiles_y
        cf = torch.cat([coef, coef.new_tensor(_PAD_COEF)[None]])
        pcol = torch.cat([colors[lists.gauss], colors.new_zeros(1, 3)])
        feat_t = _features(dtype).T.contiguous()
        feat = _features(dtype) * LN2  # d alpha / d log2(alpha) = alpha ln 2, folded in
        gi = _tile(g_img, tx, ty)  # [tiles, 256, 3]
        ga = _tile(g_alpha[..., None], tx, ty)[..., 0]
        d_coef = torch.zeros(m + 1, 6, dtype=dtype)
        d_pcol = torch.zeros(m + 1, 3, dtype=dtype)
        d_bg = torch.zeros(3, dtype=dtype)
        for tiles, k in _chunks(lists):
            idx = _chunk_pairs(lists, tiles, k, m)
            ccol = pcol[idx]
            alpha, raw = _alphas(feat_t, cf[idx])
            w, excl, keep = _weights(alpha)
            t_final = 1.0 - w.sum(-1)  # [B, P]
            g = gi[tiles]  # [B, P, 3]
            d_pcol[idx.flatten()] = torch.bmm(w.transpose(1, 2), g).reshape(-1, 3)
            d_bg += (t_final[..., None] * g).sum((0, 1))
            gc = torch.bmm(g, ccol.transpose(1, 2))  # [B, P, K] = g . c_k
            cs = torch.cumsum(w * gc, dim=-1)
            # everything composited behind k (incl. background) minus the alpha-output term
            behind = (cs[..., -1:] - cs) + (t_final * ((g * background).sum(-1) - ga[tiles]))[..., None]
            d_alpha = gc * excl - behind / (1.0 - alpha)
            # d/d log(alpha), only where alpha was composited and not clamped at ALPHA_MAX
            g_log = d_alpha * alpha
            # no gradient where alpha was clamped at ALPHA_MAX or after the early stop
            if float(raw.max()) >= ALPHA_MAX:
                g_log = g_log * (raw < ALPHA_MAX)
            if keep is not None:
                g_log = g_log * keep
            d_coef[idx.flatten()] = torch.matmul(feat, g_log).transpose(1, 2).reshape(-1, 6)
        d_colors = torch.zeros_like(colors).index_add_(0, lists.gauss, d_pcol[:m])
        return d_coef[:m], d_colors, d_bg, None, None, None


def _untile(t: Tensor, tx: int, ty: int, width: int, height: int) -> Tensor:
    c = t.shape[-1]
    return t.reshape(ty, tx, TILE, TILE, c).permute(0, 2, 1, 3, 4).reshape(ty * TILE, tx * TILE, c)[:height, :width]


def _tile(t: Tensor, tx: int, ty: int) -> Tensor:
    h, w, c = t.shape
    full = t.new_zeros(ty * TILE, tx * TILE, c)
    full[:h, :w] = t
    return full.reshape(ty, TILE, tx, TILE, c).permute(0, 2, 1, 3, 4).reshape(ty * tx, TILE * TILE, c)


def composite(
    coef: Tensor, colors: Tensor, background: Tensor, lists: TileLists, width: int, height: int
) -> tuple[Tensor, Tensor]:
    out: tuple[Tensor, Tensor] = _Composite.apply(coef, colors, background, lists, width, height)
    return out


def rasterize_torch(
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
    coef = pair_coefficients(means2d[ids], proj.conics[ids], opacities[ids], lists)
    image, alpha = composite(coef, colors, bg, lists, width, height)
    return RenderOutput(image=image, alpha=alpha, means2d=means2d, radii=radii, width=width, height=height)


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
) -> tuple[Tensor, Tensor]:
    """Naive per-pixel renderer with plain autograd: every pixel against every Gaussian.

    No tiles, no chunking, no custom backward; for tests on small scenes only.
    """
    dtype = means.dtype
    bg = background if background is not None else torch.zeros(3, dtype=dtype)
    proj = project(means, quats, scales, viewmat, K, width, height)
    cam_center = -viewmat[:3, :3].T @ viewmat[:3, 3]
    colors = torch.clamp_min(eval_sh(sh_degree, sh, means - cam_center) + 0.5, 0.0)
    order = torch.argsort(proj.depths.detach())
    order = order[proj.visible[order]]
    m, con, col, op = proj.means2d[order], proj.conics[order], colors[order], opacities[order]
    ys, xs = torch.meshgrid(torch.arange(height, dtype=dtype), torch.arange(width, dtype=dtype), indexing="ij")
    px = torch.stack([xs.flatten(), ys.flatten()], dim=-1) + 0.5  # [P, 2]
    dx = px[:, None, 0] - m[None, :, 0]
    dy = px[:, None, 1] - m[None, :, 1]
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


def ceil_div(a: int, b: int) -> int:
    return int(math.ceil(a / b))
