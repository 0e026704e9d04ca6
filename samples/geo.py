"""Exact WGS84 conversions between a local East-North-Up frame and geodetic coordinates."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

WGS84_A = 6378137.0
WGS84_F = 1.0 / 298.257223563
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)


@dataclass(frozen=True)
class GeoOrigin:
    """The geodetic position of the ENU frame's origin (degrees, metres above the ellipsoid)."""

    lat: float
    lon: float
    alt: float


def geodetic_to_ecef(lat: float, lon: float, alt: float) -> NDArray[np.float64]:
    phi, lam = math.radians(lat), math.radians(lon)
    n = WGS84_A / math.sqrt(1.0 - WGS84_E2 * math.sin(phi) ** 2)
    return np.array(
        [
            (n + alt) * math.cos(phi) * math.cos(lam),
            (n + alt) * math.cos(phi) * math.sin(lam),
            (n * (1.0 - WGS84_E2) + alt) * math.sin(phi),
        ]
    )


def ecef_to_geodetic(xyz: NDArray[np.float64]) -> tuple[float, float, float]:
    x, y, z = (float(c) for c in xyz)
    lam = math.atan2(y, x)
    p = math.hypot(x, y)
    phi = math.atan2(z, p * (1.0 - WGS84_E2))
    alt = 0.0
    for _ in range(10):  # converges to well below a millimetre in 3-4 iterations
        n = WGS84_A / math.sqrt(1.0 - WGS84_E2 * math.sin(phi) ** 2)
        alt = p / math.cos(phi) - n
        phi = math.atan2(z, p * (1.0 - WGS84_E2 * n / (n + alt)))
    return math.degrees(phi), math.degrees(lam), alt


def _enu_basis(origin: GeoOrigin) -> NDArray[np.float64]:
    """Rows: east, north, up unit vectors in ECEF."""
    phi, lam = math.radians(origin.lat), math.radians(origin.lon)
    sp, cp, sl, cl = math.sin(phi), math.cos(phi), math.sin(lam), math.cos(lam)
    return np.array([[-sl, cl, 0.0], [-sp * cl, -sp * sl, cp], [cp * cl, cp * sl, sp]])


def enu_to_geodetic(origin: GeoOrigin, enu: NDArray[np.float64]) -> tuple[float, float, float]:
    """(lat, lon, alt) of a point given in metres east, north and up of the origin."""
    ecef = geodetic_to_ecef(origin.lat, origin.lon, origin.alt) + _enu_basis(origin).T @ np.asarray(enu, float)
    return ecef_to_geodetic(ecef)


def geodetic_to_enu(origin: GeoOrigin, lat: float, lon: float, alt: float) -> NDArray[np.float64]:
    """Metres east, north and up of the origin."""
    delta = geodetic_to_ecef(lat, lon, alt) - geodetic_to_ecef(origin.lat, origin.lon, origin.alt)
    return _enu_basis(origin) @ delta
