"""Procedural materials: albedo textures (linear RGB, float32, shape (h, w, 3)) for every surface.

A texture's row index runs along the surface's v axis (up a wall, north on the ground) and its
column index along u, one texel = `texel` metres. Every material layers several scales of
non-periodic detail (fBm, Voronoi cells with per-cell colours, stains, scattered blobs), so any
patch of any surface looks different from every other: SIFT finds many features and their
descriptors are distinctive.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .noise import F32, fbm, mix, per_cell, rgb, smoothstep, value_noise, voronoi

Material = Callable[[np.random.Generator, int, int, float], F32]


@dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle in a surface's (u, v) metres."""

    u0: float
    v0: float
    u1: float
    v1: float


def _coords(h: int, w: int, texel: float) -> tuple[F32, F32]:
    v = ((np.arange(h, dtype=np.float32) + 0.5) * texel)[:, None]
    u = ((np.arange(w, dtype=np.float32) + 0.5) * texel)[None, :]
    return np.broadcast_to(u, (h, w)), np.broadcast_to(v, (h, w))


def _palette(rng: np.random.Generator, t: F32, colours: Sequence[tuple[float, float, float]]) -> F32:
    """Per-texel colour interpolated along a palette by a value in [0, 1]."""
    pal = np.stack([rgb(c) for c in colours])
    xp = np.linspace(0.0, 1.0, len(colours))
    out = np.empty((*t.shape, 3), np.float32)
    for c in range(3):
        out[..., c] = np.interp(t, xp, pal[:, c])
    return out


def _rect_mask(u: F32, v: F32, r: Rect, soft: float = 0.0) -> F32:
    if soft <= 0:
        return ((u >= r.u0) & (u < r.u1) & (v >= r.v0) & (v < r.v1)).astype(np.float32)
    d = np.minimum(np.minimum(u - r.u0, r.u1 - u), np.minimum(v - r.v0, r.v1 - v))
    return smoothstep(-soft, soft, d)


def _shade(col: F32, factor: F32) -> F32:
    return (col * factor[..., None]).astype(np.float32)


def _blobs(rng: np.random.Generator, h: int, w: int, cell: float, density: float) -> F32:
    """Scattered soft spots about `cell` texels wide covering roughly `density` of the area."""
    n = value_noise(rng, h, w, cell)
    thr = float(np.quantile(n[:: max(1, h // 64), :: max(1, w // 64)], 1.0 - density))
    return smoothstep(thr, thr + 0.35, n)


def _stains(rng: np.random.Generator, h: int, w: int, texel: float, strength: float) -> F32:
    """Multiplicative dirt: large soft blotches plus a few sharp-edged darker patches."""
    big = fbm(rng, h, w, 1.5 / texel, 5)
    spots = _blobs(rng, h, w, 0.25 / texel, 0.06)
    return (1.0 + strength * (0.25 * big - 0.45 * spots)).astype(np.float32)


def _windows(u: F32, v: F32, col: F32, rng: np.random.Generator, texel: float, rects: Sequence[Rect],
             door: Rect | None) -> F32:
    frame_c = rgb((228, 226, 218))
    for r in rects:
        h, w = col.shape[:2]
        frame = _rect_mask(u, v, Rect(r.u0 - 0.08, r.v0 - 0.12, r.u1 + 0.08, r.v1 + 0.08))
        glass = _rect_mask(u, v, r)
        refl = fbm(rng, h, w, 0.8 / texel, 4)
        sky = 0.5 + 0.5 * np.clip((v - r.v0) / max(r.v1 - r.v0, 1e-3), 0, 1)
        glass_c = mix(rgb((25, 32, 45))[None, None, :] * np.ones_like(col), rgb((120, 140, 165)),
                      np.clip(0.35 * sky + 0.25 * refl, 0, 1))
        mullion = (np.abs(u - (r.u0 + r.u1) / 2) < 0.04).astype(np.float32)
        col = mix(col, np.broadcast_to(frame_c, col.shape), frame)
        col = mix(col, glass_c, glass * (1 - mullion))
        # curtains: a different soft pattern in every window
        curtain = glass * smoothstep(0.3, 0.9, value_noise(rng, h, w, 0.5 / texel, 0.15 / texel)) * 0.7
        col = mix(col, np.broadcast_to(rgb(tuple(rng.uniform(120, 230, 3))), col.shape), curtain)
    if door is not None:
        h, w = col.shape[:2]
        planks = np.floor((u - door.u0) / 0.15)
        tone = 0.85 + 0.15 * np.sin(planks * 12.9898) ** 2
        grain = 1 + 0.12 * value_noise(rng, h, w, 0.6 / texel, 0.03 / texel)
        wood = _shade(np.broadcast_to(rgb((105, 60, 35)), col.shape), (tone * grain).astype(np.float32))
        frame = _rect_mask(u, v, Rect(door.u0 - 0.1, door.v0, door.u1 + 0.1, door.v1 + 0.1))
        col = mix(col, np.broadcast_to(frame_c, col.shape), frame)
        col = mix(col, wood, _rect_mask(u, v, door))
        knob = ((u - (door.u1 - 0.12)) ** 2 + (v - 1.0) ** 2 < 0.05 ** 2).astype(np.float32)
        col = mix(col, np.broadcast_to(rgb((200, 170, 60)), col.shape), knob)
    return col


def brick(rects: Sequence[Rect] = (), door: Rect | None = None, base: tuple[float, float, float] = (150, 72, 52)) -> Material:
    def make(rng: np.random.Generator, h: int, w: int, texel: float) -> F32:
        u, v = _coords(h, w, texel)
        course, length, mortar = 0.075, 0.23, 0.012
        row = np.floor(v / course)
        shift = (row % 2) * (length / 2) + (row % 3) * 0.03
        colidx = np.floor((u + shift) / length)
        bid = (row * 4099 + colidx).astype(np.int64) % 1_000_003
        table = rng.random((1_000_003, 2)).astype(np.float32)
        t = table[bid]
        b = np.array(base, np.float32)
        palette = [tuple(b * 0.55), tuple(b * 0.8), tuple(b), tuple(np.minimum(b * 1.25, 255)), (170, 120, 90)]
        col = _palette(rng, t[..., 0], palette)
        col = _shade(col, (0.85 + 0.3 * t[..., 1]).astype(np.float32))
        fu = (u + shift) - colidx * length
        fv = v - row * course
        m = ((fu < mortar) | (fv < mortar)).astype(np.float32)
        col = mix(col, np.broadcast_to(rgb((175, 170, 160)), col.shape), m)
        col = _shade(col, (1 + 0.12 * fbm(rng, h, w, 0.1 / texel, 3)).astype(np.float32))
        # soot and rain streaks: long vertical noise, darker low on the wall (splash zone)
        streak = value_noise(rng, h, w, 1.2 / texel, 0.15 / texel)
        splash = np.exp(-v / 0.5)
        col = _shade(col, (_stains(rng, h, w, texel, 0.8) * (1 - 0.12 * np.clip(streak, 0, 3)) * (1 - 0.3 * splash)).astype(np.float32))
        # ivy / moss patch somewhere on the wall
        ivy_cells = voronoi(rng, h, w, 0.07 / texel)
        ivy_col = _palette(rng, per_cell(rng, ivy_cells), [(30, 60, 20), (60, 100, 35), (90, 130, 50)])
        region = smoothstep(0.6, 1.2, fbm(rng, h, w, 2.5 / texel, 4) + 0.6 * np.exp(-v / 1.5))
        leaf = smoothstep(0.0, 1.5, ivy_cells.f2 - ivy_cells.f1)
        col = mix(col, ivy_col, region * leaf)
        return _windows(u, v, col, rng, texel, rects, door)
    return make


def plaster(rects: Sequence[Rect] = (), base: tuple[float, float, float] = (215, 200, 170)) -> Material:
    def make(rng: np.random.Generator, h: int, w: int, texel: float) -> F32:
        u, v = _coords(h, w, texel)
        col = np.broadcast_to(rgb(base), (h, w, 3)).astype(np.float32)
        col = _shade(col, (1 + 0.1 * fbm(rng, h, w, 0.6 / texel, 6) + 0.06 * fbm(rng, h, w, 0.05 / texel, 2)).astype(np.float32))
        patches = voronoi(rng, h, w, 0.6 / texel)
        repaired = (per_cell(rng, patches) < 0.2).astype(np.float32)
        col = _shade(col, (1 - 0.12 * repaired).astype(np.float32))
        cracks = smoothstep(0.06, 0.0, np.abs(fbm(rng, h, w, 0.8 / texel, 5))) * _blobs(rng, h, w, 1.5 / texel, 0.3)
        col = _shade(col, (_stains(rng, h, w, texel, 1.0) * (1 - 0.5 * cracks)).astype(np.float32))
        return _windows(u, v, col, rng, texel, rects, None)
    return make


def roof_tiles(base: tuple[float, float, float] = (120, 60, 45)) -> Material:
    def make(rng: np.random.Generator, h: int, w: int, texel: float) -> F32:
        u, v = _coords(h, w, texel)
        row_h, tile_w = 0.3, 0.26
        row = np.floor(v / row_h)
        jitter = np.sin(row * 78.233) * 0.08
        idx = np.floor((u + (row % 2) * tile_w / 2 + jitter) / tile_w)
        tid = (row * 8191 + idx).astype(np.int64) % 500_009
        t = rng.random((500_009, 2)).astype(np.float32)[tid]
        b = np.array(base, np.float32)
        col = _palette(rng, t[..., 0], [tuple(b * 0.6), tuple(b * 0.85), tuple(b), tuple(np.minimum(b * 1.3, 255))])
        fv = (v - row * row_h) / row_h
        fu = ((u + (row % 2) * tile_w / 2 + jitter) - idx * tile_w) / tile_w
        # a tile is lit at its bottom lip and shadowed where the next row overlaps it
        profile = 0.65 + 0.45 * smoothstep(0.0, 0.25, fv) * (1 - 0.35 * smoothstep(0.75, 1.0, fv))
        gap = smoothstep(0.0, 0.04, fu) * smoothstep(1.0, 0.96, fu)
        col = _shade(col, (profile * (0.6 + 0.4 * gap) * (0.85 + 0.3 * t[..., 1])).astype(np.float32))
        moss = smoothstep(0.5, 1.3, fbm(rng, h, w, 1.8 / texel, 5))
        lichen = _blobs(rng, h, w, 0.06 / texel, 0.05)
        col = mix(col, _palette(rng, (0.5 + 0.5 * fbm(rng, h, w, 0.3 / texel, 3)) * 0.999, [(50, 70, 25), (95, 115, 45)]), moss * 0.85)
        col = mix(col, np.broadcast_to(rgb((200, 190, 120)), col.shape), lichen * 0.8)
        return _shade(col, _stains(rng, h, w, texel, 0.7))
    return make


def wood(base: tuple[float, float, float] = (150, 110, 70), plank: float = 0.14, stencil: bool = True,
         vertical: bool = False) -> Material:
    def make(rng: np.random.Generator, h: int, w: int, texel: float) -> F32:
        u, v = _coords(h, w, texel)
        across = u if vertical else v
        along = v if vertical else u
        widths = rng.uniform(0.6, 1.4, 4096) * plank
        edges = np.concatenate([[0.0], np.cumsum(widths)])
        pid = np.searchsorted(edges, across, side="right") - 1
        t = rng.random((4096, 2)).astype(np.float32)[pid]
        b = np.array(base, np.float32)
        col = _palette(rng, t[..., 0], [tuple(b * 0.6), tuple(b * 0.85), tuple(b), tuple(np.minimum(b * 1.2, 255))])
        # grain runs along the planks
        grain = value_noise(rng, h, w, 0.5 / texel, 0.012 / texel) if vertical else value_noise(rng, h, w, 0.012 / texel, 0.5 / texel)
        col = _shade(col, (1 + 0.12 * np.sin(grain * 3.0) * (0.8 + 0.4 * t[..., 1])).astype(np.float32))
        seam = np.abs(across - edges[pid])
        col = _shade(col, (0.45 + 0.55 * smoothstep(0.0, 0.015, seam.astype(np.float32))).astype(np.float32))
        knots = _blobs(rng, h, w, 0.04 / texel, 0.02)
        col = _shade(col, (1 - 0.5 * knots).astype(np.float32))
        if stencil:
            for _ in range(int(rng.integers(2, 5))):
                u0, v0 = rng.uniform(0, w * texel * 0.8), rng.uniform(0, h * texel * 0.8)
                sw, sh = rng.uniform(0.2, 0.6), rng.uniform(0.06, 0.2)
                block = _rect_mask(u, v, Rect(u0, v0, u0 + sw, v0 + sh))
                holes = (value_noise(rng, h, w, 0.03 / texel) > 0.3).astype(np.float32)
                ink = rgb(tuple(rng.choice([(20, 20, 20), (150, 20, 20), (20, 40, 120)])))
                col = mix(col, np.broadcast_to(ink, col.shape), block * holes * 0.85)
        return _shade(col, _stains(rng, h, w, texel, 0.7))
    return make


def paint(base: tuple[float, float, float], wheels: Sequence[float] = (), glass: Sequence[Rect] = ()) -> Material:
    """Car paint: a smooth coloured body with dirt near the bottom, wheels and windows."""
    def make(rng: np.random.Generator, h: int, w: int, texel: float) -> F32:
        u, v = _coords(h, w, texel)
        col = np.broadcast_to(rgb(base), (h, w, 3)).astype(np.float32)
        col = _shade(col, (1 + 0.15 * fbm(rng, h, w, 0.5 / texel, 4) + 0.25 * smoothstep(0.3, 1.0, v / max(h * texel, 1e-3))).astype(np.float32))
        dirt = np.exp(-v / 0.25) * (0.5 + 0.5 * fbm(rng, h, w, 0.2 / texel, 3))
        col = mix(col, np.broadcast_to(rgb((90, 75, 60)), col.shape), np.clip(dirt, 0, 1).astype(np.float32))
        for r in glass:
            col = mix(col, _shade(np.broadcast_to(rgb((30, 38, 50)), col.shape), (1 + 0.5 * np.clip(fbm(rng, h, w, 0.4 / texel, 3), 0, 2)).astype(np.float32)), _rect_mask(u, v, r))
        for c in wheels:
            d = np.sqrt((u - c) ** 2 + (v - 0.33) ** 2)
            tyre = (d < 0.33).astype(np.float32)
            rim = (d < 0.18).astype(np.float32)
            col = mix(col, np.broadcast_to(rgb((18, 18, 18)), col.shape), tyre)
            col = mix(col, np.broadcast_to(rgb((170, 170, 175)), col.shape), rim * (0.6 + 0.4 * (np.cos(np.arctan2(v - 0.33, u - c) * 5) > 0)))
        lines = (np.abs(u - w * texel * rng.uniform(0.4, 0.6)) < 0.01).astype(np.float32)
        return _shade(col, (1 - 0.5 * lines).astype(np.float32))
    return make


def bark() -> Material:
    def make(rng: np.random.Generator, h: int, w: int, texel: float) -> F32:
        n = value_noise(rng, h, w, 0.4 / texel, 0.04 / texel) + 0.5 * fbm(rng, h, w, 0.1 / texel, 3)
        col = _palette(rng, np.clip(0.5 + 0.25 * n, 0, 1), [(40, 30, 22), (85, 65, 45), (120, 100, 80)])
        return _shade(col, _stains(rng, h, w, texel, 0.6))
    return make


def leaves() -> Material:
    def make(rng: np.random.Generator, h: int, w: int, texel: float) -> F32:
        cells = voronoi(rng, h, w, 0.09 / texel)
        col = _palette(rng, per_cell(rng, cells), [(20, 45, 15), (40, 80, 25), (70, 110, 35), (110, 140, 55)])
        gaps = smoothstep(0.0, 1.2, cells.f2 - cells.f1)
        clumps = 0.6 + 0.4 * smoothstep(-1.0, 1.0, fbm(rng, h, w, 0.7 / texel, 4))
        return _shade(col, (gaps * clumps * 0.9 + 0.1).astype(np.float32))
    return make


def stone_wall() -> Material:
    def make(rng: np.random.Generator, h: int, w: int, texel: float) -> F32:
        cells = voronoi(rng, h, w, 0.22 / texel, jitter=0.8)
        col = _palette(rng, per_cell(rng, cells), [(95, 90, 85), (150, 140, 125), (185, 175, 150), (130, 115, 95)])
        col = _shade(col, (1 + 0.15 * fbm(rng, h, w, 0.08 / texel, 3)).astype(np.float32))
        mortar = smoothstep(0.0, 0.02 / texel, cells.f2 - cells.f1)
        col = mix(np.broadcast_to(rgb((70, 68, 62)), col.shape), col, mortar)
        return _shade(col, _stains(rng, h, w, texel, 0.8))
    return make


def ground_near(extent: float) -> Material:
    """The site's ground, square [-extent, extent]^2 in ENU: grass, a gravel drive, a paved patio,
    a road, flowerbeds, with scattered stones, leaves and bare patches."""
    def make(rng: np.random.Generator, h: int, w: int, texel: float) -> F32:
        # grass: several green/yellow tones at several scales + clumps + flowers
        tone = 0.5 + 0.22 * fbm(rng, h, w, 6.0 / texel, 7) + 0.1 * value_noise(rng, h, w, 0.08 / texel)
        col = _palette(rng, np.clip(tone, 0, 1), [(40, 70, 25), (62, 98, 38), (88, 120, 48), (130, 140, 70), (150, 135, 85)])
        col = _shade(col, (1 + 0.18 * value_noise(rng, h, w, 0.25 / texel) + 0.1 * value_noise(rng, h, w, 0.1 / texel)
                           + 0.12 * smoothstep(-0.3, 0.3, value_noise(rng, h, w, 3.0 / texel, 1.2 / texel))).astype(np.float32))
        bare = smoothstep(1.0, 1.6, fbm(rng, h, w, 3.0 / texel, 4))
        soil = _palette(rng, np.clip(0.5 + 0.3 * value_noise(rng, h, w, 0.3 / texel), 0, 1), [(70, 50, 35), (110, 85, 60), (140, 115, 85)])
        col = mix(col, soil, bare)
        for colour, cell, dens in (((235, 215, 60), 0.1, 0.015), ((240, 240, 235), 0.08, 0.012), ((120, 90, 60), 0.3, 0.02),
                                   ((160, 155, 150), 0.2, 0.01)):
            col = mix(col, np.broadcast_to(rgb(colour), col.shape), _blobs(rng, h, w, cell / texel, dens))

        def window(x0: float, x1: float, y0: float, y1: float) -> tuple[tuple[slice, slice], int, int, F32, F32]:
            c0, c1 = max(int((x0 + extent) / texel), 0), min(int(math.ceil((x1 + extent) / texel)), w)
            r0, r1 = max(int((y0 + extent) / texel), 0), min(int(math.ceil((y1 + extent) / texel)), h)
            uu, vv = _coords(r1 - r0, c1 - c0, texel)
            return (slice(r0, r1), slice(c0, c1)), r1 - r0, c1 - c0, uu + c0 * texel - extent, vv + r0 * texel - extent

        # gravel drive from the road to the house's south door, with tyre tracks
        sl, wh, ww, x, y = window(0.5, 7.5, -22.0, -2.5)
        edge = 0.25 * fbm(rng, wh, ww, 0.8 / texel, 3)
        drive = _rect_mask(x + edge, y, Rect(1.5, -21.0, 6.5, -3.0), soft=0.15)
        g = voronoi(rng, wh, ww, 0.09 / texel)
        gravel = _palette(rng, per_cell(rng, g), [(90, 85, 80), (140, 130, 115), (175, 165, 145), (120, 100, 80), (200, 195, 185)])
        gravel = _shade(gravel, (0.6 + 0.4 * smoothstep(0.0, 1.0, g.f2 - g.f1)) * (1 + 0.2 * fbm(rng, wh, ww, 1.0 / texel, 4)))
        for cx in (3.0, 5.0):
            track = smoothstep(0.35, 0.1, np.abs(x - cx - 0.3 * np.sin(y * 0.2))) * (0.5 + 0.5 * smoothstep(-0.5, 0.5, value_noise(rng, wh, ww, 1.0 / texel)))
            gravel = _shade(gravel, (1 - 0.25 * track).astype(np.float32))
        col[sl] = mix(col[sl], gravel, drive)
        # paved patio north of the house: irregular flagstones with per-slab tones, grout, cracks
        sl, wh, ww, x, y = window(-4.5, 3.5, 3.0, 9.5)
        p = voronoi(rng, wh, ww, 0.55 / texel, jitter=0.6)
        slabs = _palette(rng, per_cell(rng, p), [(150, 140, 130), (185, 175, 160), (200, 190, 170), (165, 150, 135), (130, 125, 120)])
        slabs = _shade(slabs, (1 + 0.12 * fbm(rng, wh, ww, 0.2 / texel, 3)) * _stains(rng, wh, ww, texel, 0.8))
        grout = smoothstep(0.0, 0.03 / texel, p.f2 - p.f1)
        crack = smoothstep(0.03, 0.0, np.abs(fbm(rng, wh, ww, 0.7 / texel, 5))) * _blobs(rng, wh, ww, 1.0 / texel, 0.3)
        col[sl] = _shade(slabs, (0.4 + 0.6 * grout) * (1 - 0.5 * crack))
        # road along the south: asphalt, repairs, a worn edge line, oil stains
        sl, wh, ww, x, y = window(-extent, extent, -26.5, -20.5)
        road = smoothstep(-0.05, 0.05, np.minimum(y + 26.0, -21.0 - y) + 0.08 * value_noise(rng, wh, ww, 0.6 / texel))
        asphalt = _palette(rng, np.clip(0.4 + 0.25 * fbm(rng, wh, ww, 2.0 / texel, 6), 0, 1), [(35, 35, 38), (60, 60, 62), (85, 85, 85)])
        asphalt = _shade(asphalt, (1 + 0.25 * value_noise(rng, wh, ww, 0.06 / texel)).astype(np.float32))
        rp = voronoi(rng, wh, ww, 3.0 / texel)
        repair = (per_cell(rng, rp) < 0.25).astype(np.float32) * smoothstep(0.0, 0.2 / texel, rp.f2 - rp.f1)
        asphalt = _shade(asphalt, (1 - 0.3 * repair).astype(np.float32))
        line = (np.abs(y + 21.6) < 0.08).astype(np.float32) * smoothstep(-0.5, 0.3, fbm(rng, wh, ww, 0.5 / texel, 4))
        asphalt = mix(asphalt, np.broadcast_to(rgb((220, 215, 200)), asphalt.shape), line)
        asphalt = _shade(asphalt, (1 - 0.4 * _blobs(rng, wh, ww, 0.5 / texel, 0.05)).astype(np.float32))
        col[sl] = mix(col[sl], asphalt, road)
        # flowerbeds: soft-edged soil ellipses full of coloured flowers
        for cx, cy, rx, ry in ((-7.5, -6.0, 2.5, 1.2), (8.0, -2.0, 1.3, 3.0), (-2.0, 12.0, 3.0, 1.0), (12.0, 14.0, 2.0, 2.0)):
            sl, wh, ww, x, y = window(cx - rx - 0.3, cx + rx + 0.3, cy - ry - 0.3, cy + ry + 0.3)
            bed = smoothstep(1.05, 0.9, np.sqrt(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2) + 0.05 * value_noise(rng, wh, ww, 0.5 / texel))
            fl = voronoi(rng, wh, ww, 0.12 / texel)
            flowers = _palette(rng, per_cell(rng, fl), [(200, 40, 60), (240, 200, 50), (140, 60, 170), (250, 250, 250), (60, 110, 40), (90, 60, 40)])
            flowers = _shade(flowers, (0.5 + 0.5 * smoothstep(0.0, 1.5, fl.f2 - fl.f1)))
            col[sl] = mix(col[sl], flowers, bed)
        return col.astype(np.float32)
    return make


def ground_far() -> Material:
    """Farmland around the site: fields of different crops with hedges between them."""
    def make(rng: np.random.Generator, h: int, w: int, texel: float) -> F32:
        f = voronoi(rng, h, w, 35.0 / texel, jitter=0.95)
        col = _palette(rng, per_cell(rng, f), [(70, 100, 40), (120, 130, 60), (160, 140, 80), (95, 75, 50), (55, 90, 35), (140, 150, 70)])
        col = _shade(col, (1 + 0.2 * fbm(rng, h, w, 8.0 / texel, 6) + 0.1 * value_noise(rng, h, w, 1.5 / texel)).astype(np.float32))
        hedge = smoothstep(1.5 / texel, 0.5 / texel, f.f2 - f.f1)
        col = mix(col, np.broadcast_to(rgb((30, 55, 25)), col.shape), hedge)
        trees = _blobs(rng, h, w, 3.0 / texel, 0.05)
        col = mix(col, np.broadcast_to(rgb((25, 50, 20)), col.shape), trees * 0.9)
        return col.astype(np.float32)
    return make


def texture_size(size_u: float, size_v: float, texel: float) -> tuple[int, int]:
    return max(2, int(math.ceil(size_v / texel))), max(2, int(math.ceil(size_u / texel)))
