"""A vectorised numpy ray caster for the synthetic site (pinhole camera, no distortion).

Camera convention (OpenCV/COLMAP): x right, y down, z forward; the pixel (i, j) (column, row)
covers [i, i+1) x [j, j+1), so its centre is (i + 0.5, j + 0.5) as in COLMAP.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .noise import F32
from .scene import Scene, intersect

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Intrinsics:
    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float


@dataclass(frozen=True)
class Camera:
    center: F64  # (3,) ENU metres
    rotation: F64  # (3, 3) camera-to-world; columns are the camera's x, y, z axes in ENU
    intrinsics: Intrinsics


def look_at(center: F64, target: F64) -> F64:
    """Camera-to-world rotation of a camera at `center` looking at `target` with no roll."""
    z = target - center
    z = z / np.linalg.norm(z)
    x = np.cross(z, np.array([0.0, 0.0, 1.0]))
    x = x / np.linalg.norm(x)
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=1)


SKY_HORIZON = np.array([0.62, 0.70, 0.80], np.float32)
SKY_ZENITH = np.array([0.20, 0.35, 0.65], np.float32)
HAZE_DISTANCE = 900.0


def _sample(scene: Scene, sid: NDArray[np.intp], u: F32, v: F32, lod: F32) -> F32:
    """Trilinear (mip-mapped) texture lookup for hits on surface `sid` at (u, v) metres."""
    texel = np.array([s.texel for s in scene.surfaces], np.float32)[sid]
    lod = np.clip(lod, 0.0, (scene.n_levels[sid] - 1).astype(np.float32))
    l0 = np.floor(lod).astype(np.intp)
    l1 = np.minimum(l0 + 1, scene.n_levels[sid] - 1)
    frac = (lod - l0)[:, None]
    out = np.zeros((len(sid), 3), np.float32)
    for level, weight in ((l0, 1.0 - frac), (l1, frac)):
        size = texel * np.exp2(level).astype(np.float32)
        w = scene.level_w[sid, level]
        h = scene.level_h[sid, level]
        off = scene.level_offset[sid, level]
        x = u / size - 0.5
        y = v / size - 0.5
        x0 = np.floor(x)
        y0 = np.floor(y)
        fx = (x - x0)[:, None]
        fy = (y - y0)[:, None]
        xi0 = np.clip(x0.astype(np.int64), 0, w - 1)
        xi1 = np.clip(x0.astype(np.int64) + 1, 0, w - 1)
        yi0 = np.clip(y0.astype(np.int64), 0, h - 1)
        yi1 = np.clip(y0.astype(np.int64) + 1, 0, h - 1)
        t = scene.texels
        c = (t[off + yi0 * w + xi0] * (1 - fx) + t[off + yi0 * w + xi1] * fx) * (1 - fy) \
            + (t[off + yi1 * w + xi0] * (1 - fx) + t[off + yi1 * w + xi1] * fx) * fy
        out += c * weight
    return out


def render_linear(scene: Scene, cam: Camera, supersample: int = 1) -> F32:
    """Linear-light RGB image (height, width, 3) rendered with `supersample`^2 rays per pixel."""
    k = cam.intrinsics
    ss = int(supersample)
    H, W = k.height * ss, k.width * ss
    fx, fy, cx, cy = k.fx * ss, k.fy * ss, k.cx * ss, k.cy * ss
    R = cam.rotation.astype(np.float32)
    C = cam.center.astype(np.float32)
    xs = ((np.arange(W, dtype=np.float32) + 0.5) - np.float32(cx)) / np.float32(fx)
    ys = ((np.arange(H, dtype=np.float32) + 0.5) - np.float32(cy)) / np.float32(fy)
    d = xs[None, :, None] * R[:, 0] + ys[:, None, None] * R[:, 1] + R[:, 2]
    d /= np.linalg.norm(d, axis=2, keepdims=True)
    t_best = np.full((H, W), np.inf, np.float32)
    sid = np.full((H, W), -1, np.intp)
    # ground plane z = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        tg = np.where(d[..., 2] < -1e-6, -C[2] / d[..., 2], np.inf).astype(np.float32)
    t_best[:] = tg
    gx = C[0] + tg * d[..., 0]
    gy = C[1] + tg * d[..., 1]
    e = scene.near_extent
    near = (np.abs(gx) < e) & (np.abs(gy) < e)
    ground = [i for i, s in enumerate(scene.surfaces) if s.ground]
    sid[np.isfinite(tg)] = ground[1]
    sid[np.isfinite(tg) & near] = ground[0]
    # objects: test each polygon only inside its projected screen rectangle
    Rt = cam.rotation.T
    for i in scene.objects:
        s = scene.surfaces[i]
        pc = (s.vertices - cam.center) @ Rt.T
        if np.all(pc[:, 2] <= 0):
            continue
        if np.all(pc[:, 2] > 1e-3):
            px = pc[:, 0] / pc[:, 2] * fx + cx
            py = pc[:, 1] / pc[:, 2] * fy + cy
            x0, x1 = max(int(math.floor(px.min())) - 1, 0), min(int(math.ceil(px.max())) + 1, W)
            y0, y1 = max(int(math.floor(py.min())) - 1, 0), min(int(math.ceil(py.max())) + 1, H)
            if x0 >= x1 or y0 >= y1:
                continue
        else:
            x0, x1, y0, y1 = 0, W, 0, H
        sub_d = d[y0:y1, x0:x1]
        t = intersect(scene.geoms[i], C, sub_d)
        tb = t_best[y0:y1, x0:x1]
        closer = t < tb
        tb[closer] = t[closer]
        sid[y0:y1, x0:x1][closer] = i
    # shade: texture lookups with a per-pixel level of detail
    img = np.empty((H, W, 3), np.float32)
    hit = sid >= 0
    hd = d[hit]
    ht = t_best[hit]
    hs = sid[hit]
    p = C + ht[:, None] * hd
    origin = np.array([s.origin for s in scene.surfaces], np.float32)[hs]
    eu = np.array([s.eu for s in scene.surfaces], np.float32)[hs]
    ev = np.array([s.ev for s in scene.surfaces], np.float32)[hs]
    nrm = np.array([s.normal for s in scene.surfaces], np.float32)[hs]
    texel = np.array([s.texel for s in scene.surfaces], np.float32)[hs]
    rel = p - origin
    u = np.einsum("ij,ij->i", rel, eu)
    v = np.einsum("ij,ij->i", rel, ev)
    cos = np.maximum(np.abs(np.einsum("ij,ij->i", hd, nrm)), 1e-3)
    footprint = ht / np.float32(fx) / cos ** np.float32(0.7)
    lod = np.log2(np.maximum(footprint / texel, 1e-6))
    col = _sample(scene, hs, u, v, lod)
    haze = (1.0 - np.exp(-ht / HAZE_DISTANCE))[:, None]
    img[hit] = col * (1 - haze) + SKY_HORIZON * haze
    sky_t = np.clip(d[~hit][:, 2:3], 0.0, 1.0) ** 0.5
    img[~hit] = SKY_HORIZON * (1 - sky_t) + SKY_ZENITH * sky_t
    if ss > 1:
        img = img.reshape(k.height, ss, k.width, ss, 3).mean(axis=(1, 3))
    return img.astype(np.float32)


def to_srgb8(img: F32, rng: np.random.Generator | None = None, exposure: float = 1.0, noise: float = 0.0) -> NDArray[np.uint8]:
    """Tone-map linear light to 8-bit sRGB, with optional sensor noise (in 8-bit steps)."""
    x = np.clip(img * np.float32(exposure), 0.0, None)
    x = x / (1.0 + 0.15 * x)  # gentle highlight roll-off
    x = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(np.maximum(x, 1e-8), 1 / 2.4) - 0.055) * 255.0
    if rng is not None and noise > 0:
        x = x + rng.normal(0.0, noise, x.shape).astype(np.float32)
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)
