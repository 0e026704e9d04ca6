"""Pure-PyTorch tile rasterizer for 3D Gaussians (forward and backward), CPU-friendly.

Same maths as gsplat's ``rasterization`` in ``classic`` mode (projection, culling and tile
binning in ``cpu_common.py``);

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
from typing import Any

import torch
from torch import Tensor

from . import CLASSIC, RenderMode, RenderOutput
from .cpu_common import ALPHA_MAX, ALPHA_MIN, TILE, T_MIN, AbsGradSink, TileLists, prepare

# elements of one [tiles, pixels, K] tensor per chunk: bounds peak memory of a step.
CHUNK_ELEMS = 1 << 21
LOG2E = 1.0 / math.log(2.0)
LN2 = math.log(2.0)


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
        sink: AbsGradSink | None,
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
        ctx.lists, ctx.sink = lists, sink
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
        d_bg = gi[lists.count == 0].sum((0, 1))  # tiles without Gaussians show the background alone
        sink: AbsGradSink | None = ctx.sink
        d_abs = torch.zeros(m + 1, 2, dtype=dtype) if sink is not None else None
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
            if d_abs is not None:
                d_abs[idx.flatten()] = _abs_mean_grad(feat_t, cf[idx], g_log).reshape(-1, 2)
        d_colors = torch.zeros_like(colors).index_add_(0, lists.gauss, d_pcol[:m])
        if sink is not None and d_abs is not None:
            sink.add(d_abs[:m], lists.gauss)
        return d_coef[:m], d_colors, d_bg, None, None, None, None


def _abs_mean_grad(feat_t: Tensor, coef: Tensor, g_log: Tensor) -> Tensor:
    """[B, K, 2]: per pair, the sum over the tile's pixels of |d loss / d means2d| of each pixel.

    log2 alpha depends on the mean only through the pixel's offset from it, so its derivative by
    the mean is minus its derivative by the pixel position: -(2 c0 u + c1 v + c3, c1 u + 2 c2 v + c4).
    ``g_log`` is d loss / d log2 alpha divided by ln 2 (as in the backward)."""
    uv1 = feat_t[:, 3:6].T  # [3, P]: u, v, 1
    lin_x = torch.matmul(torch.stack([2 * coef[..., 0], coef[..., 1], coef[..., 3]], -1), uv1)  # [B, K, P]
    lin_y = torch.matmul(torch.stack([coef[..., 1], 2 * coef[..., 2], coef[..., 4]], -1), uv1)
    g = g_log.transpose(1, 2).abs() * LN2  # [B, K, P]
    return torch.stack([(g * lin_x.abs()).sum(-1), (g * lin_y.abs()).sum(-1)], -1)


def _untile(t: Tensor, tx: int, ty: int, width: int, height: int) -> Tensor:
    c = t.shape[-1]
    return t.reshape(ty, tx, TILE, TILE, c).permute(0, 2, 1, 3, 4).reshape(ty * TILE, tx * TILE, c)[:height, :width]


def _tile(t: Tensor, tx: int, ty: int) -> Tensor:
    h, w, c = t.shape
    full = t.new_zeros(ty * TILE, tx * TILE, c)
    full[:h, :w] = t
    return full.reshape(ty, TILE, tx, TILE, c).permute(0, 2, 1, 3, 4).reshape(ty * tx, TILE * TILE, c)


def composite(
    coef: Tensor, colors: Tensor, background: Tensor, lists: TileLists, width: int, height: int, sink: AbsGradSink | None = None
) -> tuple[Tensor, Tensor]:
    out: tuple[Tensor, Tensor] = _Composite.apply(coef, colors, background, lists, width, height, sink)
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
    mode: RenderMode = CLASSIC,
) -> RenderOutput:
    p = prepare(means, quats, scales, opacities, sh, viewmat, K, width, height, sh_degree, background, mode=mode)
    coef = pair_coefficients(p.means2d[p.ids], p.conics, p.opacities, p.lists)
    image, alpha = composite(coef, p.colors, p.background, p.lists, width, height, p.absgrad)
    absgrad = None if p.absgrad is None else p.absgrad.total
    return RenderOutput(image=image, alpha=alpha, means2d=p.means2d, radii=p.radii, width=width, height=height, absgrad=absgrad)
