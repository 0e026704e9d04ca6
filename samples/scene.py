"""The synthetic site: analytic planar polygons with procedural, pre-lit textures.

Geometry is in ENU metres (x east, y north, z up), ground at z = 0. Every surface is a convex
planar polygon (box faces, roof slopes, gable and crown triangles) with its own texture frame;
the ground is the plane z = 0 with a detailed texture near the site and a coarse one beyond.
Lighting (sky ambient + sun with cast shadows) does not depend on the viewer, so it is baked
into the textures once, and mip-mapped; rendering is then ray casting plus texture lookups.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from . import textures as tx
from .noise import F32

F64 = NDArray[np.float64]


@dataclass
class Surface:
    """A textured convex polygon. (u, v) = ((p - origin) . eu, (p - origin) . ev) in metres."""

    name: str
    vertices: F64  # (k, 3), counter-clockwise seen from the side the normal points to
    material: tx.Material
    texel: float
    ground: bool = False
    normal: F64 = field(init=False)
    eu: F64 = field(init=False)
    ev: F64 = field(init=False)
    origin: F64 = field(init=False)
    size_u: float = field(init=False)
    size_v: float = field(init=False)

    def __post_init__(self) -> None:
        v = np.asarray(self.vertices, np.float64)
        n = np.zeros(3)
        for i in range(len(v)):  # Newell's normal
            a, b = v[i], v[(i + 1) % len(v)]
            n += np.array([(a[1] - b[1]) * (a[2] + b[2]), (a[2] - b[2]) * (a[0] + b[0]), (a[0] - b[0]) * (a[1] + b[1])])
        self.normal = np.asarray(n / np.linalg.norm(n), np.float64)
        eu = v[1] - v[0]
        self.eu = eu / np.linalg.norm(eu)
        self.ev = np.asarray(np.cross(self.normal, self.eu), np.float64)
        uu = (v - v[0]) @ self.eu
        vv = (v - v[0]) @ self.ev
        self.origin = v[0] + uu.min() * self.eu + vv.min() * self.ev
        self.size_u = float(uu.max() - uu.min())
        self.size_v = float(vv.max() - vv.min())
        self.vertices = v


def _yaw(deg: float) -> F64:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


_FACES: dict[str, list[tuple[int, int, int]]] = {
    "+x": [(1, -1, -1), (1, 1, -1), (1, 1, 1), (1, -1, 1)],
    "-x": [(-1, 1, -1), (-1, -1, -1), (-1, -1, 1), (-1, 1, 1)],
    "+y": [(1, 1, -1), (-1, 1, -1), (-1, 1, 1), (1, 1, 1)],
    "-y": [(-1, -1, -1), (1, -1, -1), (1, -1, 1), (-1, -1, 1)],
    "+z": [(-1, -1, 1), (1, -1, 1), (1, 1, 1), (-1, 1, 1)],
}


def box(name: str, center: tuple[float, float, float], size: tuple[float, float, float], yaw: float,
        materials: dict[str, tx.Material], texel: float) -> list[Surface]:
    """The faces of a box (those listed in `materials`), normals outward, textures upright."""
    rot, c, half = _yaw(yaw), np.array(center, float), np.array(size, float) / 2
    out = []
    for face, mat in materials.items():
        verts = np.array([c + rot @ (np.array(s, float) * half) for s in _FACES[face]])
        out.append(Surface(f"{name}{face}", verts, mat, texel))
    return out


def cone(name: str, base: tuple[float, float, float], radius: float, height: float, sides: int, phase: float,
         material: tx.Material, texel: float) -> list[Surface]:
    b = np.array(base, float)
    apex = b + np.array([0.0, 0.0, height])
    ring = [b + radius * np.array([math.cos(a), math.sin(a), 0.0])
            for a in (phase + 2 * math.pi * i / sides for i in range(sides))]
    return [Surface(f"{name}{i}", np.array([ring[i], ring[(i + 1) % sides], apex]), material, texel) for i in range(sides)]


@dataclass(frozen=True)
class SceneConfig:
    seed: int = 0
    texel: float = 0.025  # metres per texel on objects; the near ground uses 2x, the far ground 24x
    near_extent: float = 50.0
    far_extent: float = 320.0
    sun_azimuth: float = 140.0  # degrees clockwise from north
    sun_elevation: float = 50.0
    # harder surveys: texture_contrast < 1 pulls every surface's albedo toward its mean (low
    # texture); texture_repeat = n > 1 tiles the ground with one patch of 1/n of its size, n x n
    # times (repeated patterns)
    texture_contrast: float = 1.0
    texture_repeat: int = 0


def build_surfaces(cfg: SceneConfig) -> list[Surface]:
    t = cfg.texel
    R = tx.Rect
    e, f = cfg.near_extent, cfg.far_extent
    s: list[Surface] = [
        Surface("ground_near", np.array([[-e, -e, 0], [e, -e, 0], [e, e, 0], [-e, e, 0]], float), tx.ground_near(e), 2 * t, ground=True),
        Surface("ground_far", np.array([[-f, -f, 0], [f, -f, 0], [f, f, 0], [-f, f, 0]], float), tx.ground_far(), 24 * t, ground=True),
    ]
    # the house: 10 m x 7 m, 5 m walls, ridge along x at 7.5 m, roof overhang 0.5 m
    s += box("house", (0, 0, 2.5), (10, 7, 5), 0, {
        "-y": tx.brick([R(1.5, 0.9, 2.7, 2.2), R(4.2, 0.9, 5.4, 2.2), R(1.5, 3.0, 2.7, 4.2), R(4.5, 3.0, 5.7, 4.2), R(7.6, 3.0, 8.8, 4.2)],
                       door=R(7.6, 0.0, 8.6, 2.1)),
        "+y": tx.brick([R(3.0, 0.05, 5.5, 2.2), R(7.0, 0.9, 8.4, 2.2), R(1.2, 3.0, 2.4, 4.2), R(6.2, 3.1, 7.0, 4.1)], base=(140, 80, 60)),
        "+x": tx.brick([R(1.0, 0.9, 2.2, 2.2), R(4.5, 0.9, 5.7, 2.2), R(2.5, 3.0, 3.7, 4.2)], base=(155, 75, 50)),
        "-x": tx.brick([R(2.8, 3.0, 4.0, 4.2), R(5.0, 1.0, 5.8, 1.8)], base=(145, 70, 55)),
    }, t)
    s += [
        Surface("roof_south", np.array([[-5.4, -4.0, 4.7], [5.4, -4.0, 4.7], [5.4, 0.0, 7.5], [-5.4, 0.0, 7.5]]), tx.roof_tiles(), t),
        Surface("roof_north", np.array([[5.4, 4.0, 4.7], [-5.4, 4.0, 4.7], [-5.4, 0.0, 7.5], [5.4, 0.0, 7.5]]), tx.roof_tiles((100, 55, 45)), t),
        Surface("gable_east", np.array([[5.0, -3.5, 5.0], [5.0, 3.5, 5.0], [5.0, 0.0, 7.5]]), tx.plaster([R(3.0, 0.6, 4.0, 1.5)]), t),
        Surface("gable_west", np.array([[-5.0, 3.5, 5.0], [-5.0, -3.5, 5.0], [-5.0, 0.0, 7.5]]), tx.wood((120, 100, 80), 0.18, stencil=False, vertical=True), t),
    ]
    s += box("chimney", (2.5, 1.5, 7.0), (0.8, 0.8, 3.0), 0, {k: tx.brick(base=(130, 70, 55)) for k in ("+x", "-x", "+y", "-y")} | {"+z": tx.stone_wall()}, t)
    # a car on the drive, facing north
    body_side = tx.paint((165, 28, 32), wheels=(0.9, 3.5))
    s += box("car", (4.0, -11.0, 0.5), (1.8, 4.4, 1.0), 0, {
        "+x": body_side, "-x": tx.paint((165, 28, 32), wheels=(0.9, 3.5)),
        "+y": tx.paint((165, 28, 32), glass=[R(0.15, 0.6, 0.45, 0.8), R(1.35, 0.6, 1.65, 0.8)]),
        "-y": tx.paint((165, 28, 32), glass=[R(0.2, 0.55, 0.5, 0.75), R(1.3, 0.55, 1.6, 0.75)]),
        "+z": tx.paint((165, 28, 32)),
    }, t)
    s += box("cabin", (4.0, -11.3, 1.3), (1.6, 2.4, 0.6), 0, {
        "+x": tx.paint((160, 30, 35), glass=[R(0.15, 0.08, 1.1, 0.55), R(1.2, 0.08, 2.25, 0.55)]),
        "-x": tx.paint((160, 30, 35), glass=[R(0.15, 0.08, 1.1, 0.55), R(1.2, 0.08, 2.25, 0.55)]),
        "+y": tx.paint((160, 30, 35), glass=[R(0.1, 0.06, 1.5, 0.56)]),
        "-y": tx.paint((160, 30, 35), glass=[R(0.15, 0.1, 1.45, 0.5)]),
        "+z": tx.paint((160, 30, 35)),
    }, t)
    sides = ("+x", "-x", "+y", "-y", "+z")
    s += box("crate_a", (6.2, 2.0, 0.45), (1.2, 1.0, 0.9), 10, {k: tx.wood() for k in sides}, t)
    s += box("crate_b", (6.3, 2.1, 1.2), (0.8, 0.7, 0.6), -15, {k: tx.wood((170, 130, 80)) for k in sides}, t)
    s += box("crate_c", (-3.0, -6.5, 0.4), (1.5, 1.0, 0.8), 35, {k: tx.wood((130, 95, 60), 0.1) for k in sides}, t)
    s += box("container", (9.5, -8.0, 0.55), (2.2, 1.2, 1.1), 0, {k: tx.paint((40, 80, 150)) for k in sides}, t)
    s += box("shed", (10.5, 7.5, 1.2), (3.0, 2.5, 2.4), 20, {k: tx.wood((70, 110, 80), 0.12, stencil=False, vertical=True) for k in ("+x", "-x", "+y", "-y")}
             | {"+z": tx.roof_tiles((70, 70, 75))}, t)
    s += box("garden_wall", (-12.15, -1.0, 0.6), (0.35, 22.0, 1.2), 0, {k: tx.stone_wall() for k in sides}, t)
    for name, (x, y), scale in (("tree_a", (-9.0, 6.0), 1.0), ("tree_b", (11.0, -3.0), 0.7)):
        s += box(f"{name}_trunk", (x, y, 1.6 * scale), (0.45 * scale, 0.45 * scale, 3.2 * scale), 0, {k: tx.bark() for k in ("+x", "-x", "+y", "-y")}, t)
        s += cone(f"{name}_crown_low", (x, y, 2.2 * scale), 2.6 * scale, 4.3 * scale, 8, 0.2, tx.leaves(), t)
        s += cone(f"{name}_crown_high", (x, y, 4.2 * scale), 1.9 * scale, 4.0 * scale, 8, 0.6, tx.leaves(), t)
    return s


# ---------------------------------------------------------------------------------------------
# Ray / polygon intersection (shared by shadow baking and rendering)


@dataclass(frozen=True)
class PolyGeom:
    normal: F32
    d0: float
    edge_normals: F32  # (k, 3), pointing inward
    edge_offsets: F32  # (k,)

    @staticmethod
    def of(s: Surface) -> PolyGeom:
        v = s.vertices
        en = np.array([np.cross(s.normal, v[(i + 1) % len(v)] - v[i]) for i in range(len(v))])
        return PolyGeom(s.normal.astype(np.float32), float(s.normal @ v[0]), en.astype(np.float32),
                        np.einsum("ij,ij->i", en, v).astype(np.float32))


def intersect(g: PolyGeom, origin: NDArray[np.float32], dirs: NDArray[np.float32]) -> F32:
    """Ray parameter t of the hit with the polygon (inf where missed); origin (3,) or like dirs (..., 3)."""
    denom = dirs @ g.normal
    on = origin @ g.normal
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (np.float32(g.d0) - on) / denom
    ok = np.isfinite(t) & (t > 1e-4)
    for m, c in zip(g.edge_normals, g.edge_offsets):
        ok &= (origin @ m) + t * (dirs @ m) - c >= -1e-5
    return np.where(ok, t, np.float32(np.inf)).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Texture baking


@dataclass
class Scene:
    surfaces: list[Surface]
    geoms: list[PolyGeom]
    sun: F64
    texels: F32  # (n, 3): every mip level of every surface, concatenated
    level_offset: NDArray[np.int64]  # (S, L)
    level_w: NDArray[np.int64]
    level_h: NDArray[np.int64]
    n_levels: NDArray[np.int64]  # (S,)
    near_extent: float

    @property
    def objects(self) -> list[int]:
        return [i for i, s in enumerate(self.surfaces) if not s.ground]


def sun_direction(azimuth: float, elevation: float) -> F64:
    a, e = math.radians(azimuth), math.radians(elevation)
    return np.array([math.sin(a) * math.cos(e), math.cos(a) * math.cos(e), math.sin(e)])


def _visibility(points: F32, sun: F32, surfaces: list[Surface], geoms: list[PolyGeom], skip: int) -> F32:
    """1 where a point sees the sun, 0 where an object casts a shadow on it."""
    lit = np.ones(len(points), bool)
    # A shadow ray projects along the sun onto z = 0 as a single point: cull by that footprint.
    proj = points[:, :2] - points[:, 2:3] / sun[2] * sun[None, :2]
    for j, (s, g) in enumerate(zip(surfaces, geoms)):
        if j == skip or s.ground:
            continue
        pv = s.vertices[:, :2] - s.vertices[:, 2:3] / sun[2] * sun[None, :2]
        lo, hi = pv.min(0) - 0.05, pv.max(0) + 0.05
        sel = np.flatnonzero(lit & np.all((proj >= lo) & (proj <= hi), axis=1))
        if len(sel) == 0:
            continue
        hit = np.isfinite(intersect(g, points[sel], np.broadcast_to(sun, (len(sel), 3))))
        lit[sel[hit]] = False
    return lit.astype(np.float32)


def _ground_visibility(xs: F32, ys: F32, sun: F32, surfaces: list[Surface], geoms: list[PolyGeom]) -> F32:
    """Sun visibility on the ground grid xs (columns) x ys (rows) at z = 0.01: each object's shadow
    is tested only over the grid window that its projection along the sun covers."""
    lit = np.ones((len(ys), len(xs)), bool)
    z = np.float32(0.01)
    for s, g in zip(surfaces, geoms):
        if s.ground:
            continue
        pv = s.vertices[:, :2] - (s.vertices[:, 2:3] - z) / sun[2] * sun[None, :2]
        lo, hi = pv.min(0) - 0.05, pv.max(0) + 0.05
        c0, c1 = np.searchsorted(xs, lo[0]), np.searchsorted(xs, hi[0], side="right")
        r0, r1 = np.searchsorted(ys, lo[1]), np.searchsorted(ys, hi[1], side="right")
        if c0 >= c1 or r0 >= r1:
            continue
        gx, gy = np.meshgrid(xs[c0:c1], ys[r0:r1])
        pts = np.stack([gx, gy, np.full_like(gx, z)], axis=-1).astype(np.float32)
        hit = np.isfinite(intersect(g, pts, np.broadcast_to(sun, pts.shape)))
        lit[r0:r1, c0:c1] &= ~hit
    return lit.astype(np.float32)


def _upsample(a: F32, h: int, w: int) -> F32:
    """Bilinear resize of a 2-D array to (h, w), separably (rows, then columns)."""
    def axis(n_out: int, n_in: int) -> tuple[NDArray[np.intp], NDArray[np.intp], F32]:
        pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        i0 = np.floor(pos).astype(np.intp)
        return i0, np.minimum(i0 + 1, n_in - 1), (pos - i0).astype(np.float32)

    y0, y1, fy = axis(h, a.shape[0])
    x0, x1, fx = axis(w, a.shape[1])
    rows = a[y0] * (1 - fy)[:, None] + a[y1] * fy[:, None]
    out: F32 = (rows[:, x0] * (1 - fx)[None, :] + rows[:, x1] * fx[None, :]).astype(np.float32)
    return out


def _mips(img: F32) -> list[F32]:
    levels = [img]
    while min(levels[-1].shape[:2]) > 1:
        a = levels[-1]
        if a.shape[0] % 2:
            a = np.concatenate([a, a[-1:]], 0)
        if a.shape[1] % 2:
            a = np.concatenate([a, a[:, -1:]], 1)
        levels.append(((a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]) * 0.25).astype(np.float32))
    return levels


AMBIENT = 0.32
SUN = 1.0


def _harder(albedo: F32, cfg: SceneConfig, ground: bool) -> F32:
    """The low-texture and repeated-pattern variants (SceneConfig), applied before lighting."""
    if cfg.texture_contrast != 1.0:
        mean = albedo.reshape(-1, 3).mean(0)
        albedo = (mean + (albedo - mean) * np.float32(cfg.texture_contrast)).astype(np.float32)
    n = cfg.texture_repeat
    if ground and n > 1:
        h, w = albedo.shape[:2]
        patch = albedo[: max(1, math.ceil(h / n)), : max(1, math.ceil(w / n))]
        albedo = np.ascontiguousarray(np.tile(patch, (n, n, 1))[:h, :w])
    return albedo


def build_scene(cfg: SceneConfig) -> Scene:
    surfaces = build_surfaces(cfg)
    geoms = [PolyGeom.of(s) for s in surfaces]
    sun = sun_direction(cfg.sun_azimuth, cfg.sun_elevation)
    sun32 = sun.astype(np.float32)
    all_levels: list[list[F32]] = []
    for idx, s in enumerate(surfaces):
        rng = np.random.default_rng([cfg.seed, idx])
        h, w = tx.texture_size(s.size_u, s.size_v, s.texel)
        albedo = _harder(np.array(s.material(rng, h, w, s.texel), np.float32), cfg, s.ground)
        # shadows on a coarse grid (about 8 cm, or the texel if coarser), upsampled
        step = max(s.texel, 0.08)
        sh, sw = max(2, int(math.ceil(s.size_v / step))), max(2, int(math.ceil(s.size_u / step)))
        uu = (np.arange(sw) + 0.5) * s.size_u / sw
        vv = (np.arange(sh) + 0.5) * s.size_v / sh
        pts = (s.origin[None, None, :] + uu[None, :, None] * s.eu + vv[:, None, None] * s.ev + 0.01 * s.normal).reshape(-1, 3)
        cos_sun = float(s.normal @ sun)
        if s.ground:
            xs = (s.origin[0] + uu).astype(np.float32)
            ys = (s.origin[1] + vv).astype(np.float32)
            vis = _ground_visibility(xs, ys, sun32, surfaces, geoms)
        elif cos_sun > 0:
            vis = _visibility(pts.astype(np.float32), sun32, surfaces, geoms, idx).reshape(sh, sw)
        else:
            vis = np.zeros((sh, sw), np.float32)
        light = np.float32(AMBIENT * (0.75 + 0.25 * s.normal[2])) + np.float32(SUN * max(cos_sun, 0.0)) * _upsample(vis, h, w)
        albedo *= light[..., None]
        all_levels.append(_mips(albedo))
    n_lev = max(len(lv) for lv in all_levels)
    offset = np.zeros((len(surfaces), n_lev), np.int64)
    lw = np.ones((len(surfaces), n_lev), np.int64)
    lh = np.ones((len(surfaces), n_lev), np.int64)
    chunks: list[F32] = []
    pos = 0
    for i, levels in enumerate(all_levels):
        for L in range(n_lev):
            a = levels[min(L, len(levels) - 1)]
            if L < len(levels):
                chunks.append(a.reshape(-1, 3))
                offset[i, L], lh[i, L], lw[i, L] = pos, a.shape[0], a.shape[1]
                pos += a.shape[0] * a.shape[1]
            else:
                offset[i, L], lh[i, L], lw[i, L] = offset[i, len(levels) - 1], a.shape[0], a.shape[1]
    return Scene(surfaces, geoms, sun, np.concatenate(chunks).astype(np.float32), offset, lw, lh,
                 np.array([len(lv) for lv in all_levels]), cfg.near_extent)
