"""Similarity (Umeyama) alignment of estimated camera centres to the true ones.

SfM recovers a scene up to a similarity (scale, rotation, translation); this module finds the
least-squares similarity taking the estimated centres onto the true ones (Umeyama 1991) and
reports each camera's remaining position error, in metres and relative to the scene extent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Similarity:
    """x -> scale * rotation @ x + translation."""

    scale: float
    rotation: F64  # (3, 3), a proper rotation (det +1)
    translation: F64  # (3,)

    def apply(self, points: ArrayLike) -> F64:
        p = np.asarray(points, np.float64)
        return self.scale * p @ self.rotation.T + self.translation


def umeyama(src: ArrayLike, dst: ArrayLike, with_scale: bool = True) -> Similarity:
    """The similarity minimising sum ||dst_i - (s R src_i + t)||^2 over the paired points."""
    a = np.asarray(src, np.float64)
    b = np.asarray(dst, np.float64)
    if a.ndim != 2 or a.shape[1] != 3 or a.shape != b.shape:
        raise ValueError(f"expected two (N, 3) arrays of paired points, got {a.shape} and {b.shape}")
    if len(a) < 3:
        raise ValueError(f"need at least 3 point pairs to fix a similarity, got {len(a)}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    da, db = a - mu_a, b - mu_b
    var_a = float((da**2).sum() / len(a))
    if var_a <= 1e-18:
        raise ValueError("the source points all coincide: no similarity can be fixed")
    cov = db.T @ da / len(a)
    u, d, vt = np.linalg.svd(cov)
    sign = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[2, 2] = -1.0
    rot = u @ sign @ vt
    if np.linalg.matrix_rank(da, tol=1e-9 * max(1.0, np.abs(da).max())) < 2:
        raise ValueError("the source points are collinear: the rotation about their line is undetermined")
    scale = float(np.trace(np.diag(d) @ sign) / var_a) if with_scale else 1.0
    return Similarity(scale, rot, mu_b - scale * rot @ mu_a)


@dataclass(frozen=True)
class Alignment:
    names: list[str]
    similarity: Similarity
    errors: F64  # (N,) metres, |aligned estimate - truth| per camera, in `names` order
    extent: float  # metres: the scale errors are relative to
    missing: list[str]  # true cameras with no estimate (not registered)

    @property
    def relative_errors(self) -> F64:
        return self.errors / self.extent

    @property
    def rmse(self) -> float:
        return float(np.sqrt(np.mean(self.errors**2)))

    @property
    def median(self) -> float:
        return float(np.median(self.errors))

    @property
    def max(self) -> float:
        return float(self.errors.max())

    def per_camera(self) -> dict[str, float]:
        return dict(zip(self.names, (float(e) for e in self.errors)))


def scene_extent(points: ArrayLike) -> float:
    """Diagonal of the bounding box of the points (metres)."""
    p = np.asarray(points, np.float64)
    return float(np.linalg.norm(p.max(0) - p.min(0)))


def align_cameras(estimated: Mapping[str, ArrayLike], truth: Mapping[str, ArrayLike], with_scale: bool = True,
                  extent: float | None = None) -> Alignment:
    """Align estimated camera centres (any frame) to true ones, pairing them by image name.

    Names only in `estimated` are an error (they are not cameras of the survey); names only in
    `truth` are reported as `missing`. `extent` defaults to the diagonal of the bounding box of
    all true centres.
    """
    unknown = sorted(set(estimated) - set(truth))
    if unknown:
        raise ValueError(f"estimated cameras not in the truth: {', '.join(unknown[:5])}")
    names = sorted(estimated)
    src = np.array([np.asarray(estimated[n], np.float64) for n in names]).reshape(-1, 3)
    dst = np.array([np.asarray(truth[n], np.float64) for n in names]).reshape(-1, 3)
    sim = umeyama(src, dst, with_scale)
    errors = np.linalg.norm(sim.apply(src) - dst, axis=1)
    ext = scene_extent(np.array([np.asarray(v, np.float64) for v in truth.values()])) if extent is None else float(extent)
    if ext <= 0:
        raise ValueError("scene extent must be positive")
    return Alignment(names, sim, errors, ext, sorted(set(truth) - set(estimated)))
