"""Which pairs get matched: GPS neighbours, exhaustive for small sets, sequential without GPS."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from sfm_stage.config import load_config
from sfm_stage.errors import StageError
from sfm_stage.geo import umeyama
from sfm_stage.photos import Photo
from sfm_stage.reconstruct import choose_matching, spatial_pairs


def _grid(n: int, gps: bool = True) -> list[Photo]:
    # A lawnmower survey at 45° N: rows 5e-5 degrees (5.6 m) apart, photos 1e-4 degrees (7.9 m) apart.
    return [
        Photo(f"P{i:03d}.jpg", f"P{i:03d}.jpg", 100, 80, (45.0 + (i // 10) * 5e-5, 7.0 + (i % 10) * 1e-4, 100.0) if gps else None, None, "c")
        for i in range(n)
    ]


def test_spatial_pairs_are_nearest_neighbours() -> None:
    photos = _grid(40)
    pairs = spatial_pairs(photos, 4)
    assert len(pairs) == len(set(pairs)) and all(a < b for a, b in pairs)
    partners: dict[str, set[str]] = {p.name: set() for p in photos}
    for a, b in pairs:
        partners[a].add(b)
        partners[b].add(a)
    # Photo 15 (row 1, column 5): its 4 nearest are its row neighbours 14, 16 and the rows' 5 and 25.
    assert {"P014.jpg", "P016.jpg", "P005.jpg", "P025.jpg"} <= partners["P015.jpg"]
    assert "P039.jpg" not in partners["P000.jpg"]
    assert len(pairs) < 40 * 4


def test_spatial_needs_gps_everywhere() -> None:
    photos = _grid(20)
    photos[3] = replace(photos[3], gps=None)
    with pytest.raises(StageError, match="P003.jpg"):
        spatial_pairs(photos, 4)


def test_auto_matching_choice() -> None:
    auto = load_config({})
    assert choose_matching(auto, _grid(75)) == "spatial"
    assert choose_matching(auto, _grid(12)) == "exhaustive"
    assert choose_matching(auto, _grid(25, gps=False)) == "exhaustive"
    assert choose_matching(auto, _grid(75, gps=False)) == "sequential"
    assert choose_matching(load_config({"SFM_MATCHING": "exhaustive"}), _grid(75)) == "exhaustive"


def test_umeyama_recovers_a_similarity() -> None:
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    rot = q * np.sign(np.linalg.det(q))
    src = rng.normal(size=(20, 3))
    dst = 3.5 * src @ rot.T + np.array([10.0, -4.0, 2.0])
    scale, r, t = umeyama(src, dst)
    assert scale == pytest.approx(3.5) and np.allclose(r, rot) and np.allclose(t, [10.0, -4.0, 2.0])


def test_threads_follow_the_share_the_local_runtime_grants() -> None:
    assert load_config({}).num_threads == -1  # SageMaker: every core of the instance
    assert load_config({"SPACEPORT_CPUS": "2"}).num_threads == 2
    assert load_config({"SPACEPORT_CPUS": "2", "SFM_NUM_THREADS": "1"}).num_threads == 1
