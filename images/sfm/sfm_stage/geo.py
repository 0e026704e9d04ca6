"""Geographic frames and similarity fits: WGS84 to a local east-north-up frame, Umeyama alignment."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pycolmap

Array = npt.NDArray[np.float64]


def wgs84_to_enu(lat_lon_alt: Array, origin: tuple[float, float, float]) -> Array:
    """Metric east-north-up coordinates (m) of WGS84 positions around `origin` (lat, lon, alt)."""
    transform = pycolmap.GPSTransform(pycolmap.GPSTransformEllipsoid.WGS84)
    return np.asarray(transform.ellipsoid_to_enu(np.asarray(lat_lon_alt, dtype=np.float64), *origin), dtype=np.float64)


def umeyama(src: Array, dst: Array) -> tuple[float, Array, Array]:
    """Least-squares similarity (scale, rotation, translation) with dst ≈ s R src + t."""
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    xs, xd = src - mu_s, dst - mu_d
    cov = xd.T @ xs / len(src)
    u, d, vt = np.linalg.svd(cov)
    sign = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[2, 2] = -1.0
    rot = u @ sign @ vt
    var_s = (xs**2).sum() / len(src)
    scale = float(np.trace(np.diag(d) @ sign) / var_s) if var_s > 0 else 1.0
    return scale, rot, mu_d - scale * rot @ mu_s


def sim3d(scale: float, rot: Array, trans: Array) -> pycolmap.Sim3d:
    return pycolmap.Sim3d(np.hstack([scale * rot, trans.reshape(3, 1)]))
