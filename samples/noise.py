"""Vectorised procedural noise on texel grids: value noise, fBm and jittered Voronoi cells.

Everything takes an explicit numpy Generator, so a texture is a pure function of its seed.
Sizes are in texels; results are float32 arrays of shape (h, w).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]


def _axis(n: int, cell: float) -> tuple[NDArray[np.intp], F32]:
    pos = (np.arange(n, dtype=np.float32) + 0.5) / np.float32(cell)
    i0 = np.floor(pos).astype(np.intp)
    f = pos - i0
    return i0, (f * f * (3.0 - 2.0 * f)).astype(np.float32)


def value_noise(rng: np.random.Generator, h: int, w: int, cell: float, cell_x: float | None = None) -> F32:
    """Smooth random field with features about `cell` texels tall (and `cell_x` wide, default the
    same); roughly zero mean, unit std."""
    cy = max(float(cell), 1.0)
    cx = max(float(cell if cell_x is None else cell_x), 1.0)
    gh, gw = int(math.ceil(h / cy)) + 2, int(math.ceil(w / cx)) + 2
    grid = rng.standard_normal((gh, gw)).astype(np.float32)
    iy, fy = _axis(h, cy)
    ix, fx = _axis(w, cx)
    rows = grid[iy] * (1.0 - fy)[:, None] + grid[iy + 1] * fy[:, None]
    out = rows[:, ix] * (1.0 - fx)[None, :] + rows[:, ix + 1] * fx[None, :]
    res: F32 = (out * np.float32(1.6)).astype(np.float32)
    return res


def fbm(rng: np.random.Generator, h: int, w: int, cell: float, octaves: int, gain: float = 0.55,
        min_cell: float = 1.5) -> F32:
    """Fractal sum of value noise from `cell` texels down by halves; normalised to unit std."""
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for _ in range(octaves):
        if cell < min_cell:
            break
        out += np.float32(amp) * value_noise(rng, h, w, cell)
        total += amp * amp
        amp *= gain
        cell /= 2.0
    return out / np.float32(math.sqrt(max(total, 1e-9)))


@dataclass(frozen=True)
class Cells:
    """Jittered-grid Voronoi cells: a unique id per cell, distance to the nearest (f1) and second
    nearest (f2) feature point, in texels. f2 - f1 is small near cell borders."""

    ids: NDArray[np.int64]
    f1: F32
    f2: F32
    count: int


def voronoi(rng: np.random.Generator, h: int, w: int, cell: float, jitter: float = 0.9) -> Cells:
    cell = max(float(cell), 1.0)
    gh, gw = int(math.ceil(h / cell)) + 1, int(math.ceil(w / cell)) + 1
    pts = ((0.5 + (rng.random((gh, gw, 2)) - 0.5) * jitter) * cell).astype(np.float32)
    py = (np.arange(h, dtype=np.float32) + 0.5)[:, None]
    px = (np.arange(w, dtype=np.float32) + 0.5)[None, :]
    cy = np.floor(py / cell).astype(np.int64)
    cx = np.floor(px / cell).astype(np.int64)
    best1 = np.full((h, w), np.inf, np.float32)
    best2 = np.full((h, w), np.inf, np.float32)
    ids = np.zeros((h, w), np.int64)
    for dy in (-1, 0, 1):
        ny = np.clip(cy + dy, 0, gh - 1)
        for dx in (-1, 0, 1):
            nx = np.clip(cx + dx, 0, gw - 1)
            fy = ny * cell + pts[ny, nx, 0]
            fx = nx * cell + pts[ny, nx, 1]
            d = np.sqrt((py - fy) ** 2 + (px - fx) ** 2).astype(np.float32)
            cid = ny * gw + nx
            closer = d < best1
            best2 = np.where(closer, best1, np.minimum(best2, d))
            ids = np.where(closer, cid, ids)
            best1 = np.where(closer, d, best1)
    return Cells(ids=ids, f1=best1, f2=best2, count=gh * gw)


def per_cell(rng: np.random.Generator, cells: Cells, shape: tuple[int, ...] = ()) -> NDArray[np.float32]:
    """One uniform random value (or vector) per cell, looked up per texel."""
    table = rng.random((cells.count, *shape)).astype(np.float32)
    return table[cells.ids]


def smoothstep(e0: float, e1: float, x: F32) -> F32:
    t = np.clip((x - np.float32(e0)) / np.float32(e1 - e0), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


def rgb(c: tuple[float, float, float]) -> F32:
    """An sRGB colour in 0..255 as a linear float32 RGB vector."""
    v = np.array(c, np.float32) / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)


def mix(a: F32, b: F32, t: F32) -> F32:
    """Blend two (h, w, 3) (or broadcastable) colour fields by t in [0, 1] of shape (h, w)."""
    tt = t[..., None] if t.ndim == 2 else t
    out: F32 = (a * (1.0 - tt) + b * tt).astype(np.float32)
    return out
