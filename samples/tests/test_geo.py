from __future__ import annotations

import numpy as np

from samples.geo import GeoOrigin, enu_to_geodetic, geodetic_to_enu


def test_enu_round_trip_and_scale() -> None:
    o = GeoOrigin(45.5, -122.6, 60.0)
    for p in ([0, 0, 0], [30.0, -20.0, 25.0], [-500.0, 800.0, 120.0]):
        lat, lon, alt = enu_to_geodetic(o, np.array(p, float))
        assert np.allclose(geodetic_to_enu(o, lat, lon, alt), p, atol=1e-6)
    lat, lon, alt = enu_to_geodetic(o, np.array([0.0, 1000.0, 0.0]))
    assert abs((lat - 45.5) * 111_132 - 1000) < 5 and abs(lon + 122.6) < 1e-9 and abs(alt - 60.0) < 0.1
    lat, lon, _ = enu_to_geodetic(o, np.array([1000.0, 0.0, 0.0]))
    assert lon > -122.6 and abs((lon + 122.6) * 111_320 * np.cos(np.radians(45.5)) - 1000) < 5
