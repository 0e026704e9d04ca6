from __future__ import annotations

import numpy as np
import pytest

from samples.alignment import Similarity, align_cameras, scene_extent, umeyama


def _rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q * np.sign(np.diag(r))
    out: np.ndarray = q if np.linalg.det(q) > 0 else -q
    return out


def test_recovers_a_known_similarity_exactly() -> None:
    rng = np.random.default_rng(1)
    truth = rng.uniform(-30, 30, (20, 3))
    sim = Similarity(0.137, _rotation(rng), np.array([4.0, -7.0, 2.5]))
    # estimated = inverse similarity of the truth (an SfM frame: arbitrary scale, rotation, origin)
    est = (truth - sim.translation) @ sim.rotation / sim.scale
    got = umeyama(est, truth)
    assert got.scale == pytest.approx(sim.scale, rel=1e-10)
    assert np.allclose(got.rotation, sim.rotation, atol=1e-10)
    assert np.allclose(got.translation, sim.translation, atol=1e-9)
    names = [f"DJI_{i:04d}.JPG" for i in range(20)]
    res = align_cameras(dict(zip(names, est)), dict(zip(names, truth)))
    assert res.max < 1e-9 and res.missing == []
    assert res.extent == pytest.approx(scene_extent(truth))


def test_errors_are_per_camera_and_relative_to_extent() -> None:
    rng = np.random.default_rng(2)
    truth = {f"c{i}": p for i, p in enumerate(rng.uniform(-10, 10, (12, 3)))}
    est = {k: v.copy() for k, v in truth.items() if k != "c11"}
    est["c3"] = est["c3"] + np.array([0.0, 0.0, 0.5])  # one bad camera
    res = align_cameras(est, truth)
    errs = res.per_camera()
    assert max(errs, key=lambda k: errs[k]) == "c3" and 0.3 < errs["c3"] < 0.5
    assert res.missing == ["c11"]
    assert np.allclose(res.relative_errors, res.errors / res.extent)
    assert res.rmse >= res.median > 0


def test_reflections_are_not_returned_and_bad_input_is_named() -> None:
    rng = np.random.default_rng(3)
    pts = rng.uniform(-5, 5, (10, 3))
    mirrored = pts * np.array([1.0, 1.0, -1.0])
    got = umeyama(mirrored, pts)
    assert np.linalg.det(got.rotation) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least 3"):
        umeyama(pts[:2], pts[:2])
    with pytest.raises(ValueError, match="coincide"):
        umeyama(np.zeros((4, 3)), pts[:4])
    with pytest.raises(ValueError, match="collinear"):
        umeyama(np.outer(np.arange(5.0), [1, 2, 3]), pts[:5])
    with pytest.raises(ValueError, match="not in the truth"):
        align_cameras({"x": pts[0]}, {"a": pts[1]})


def test_without_scale_keeps_unit_scale() -> None:
    rng = np.random.default_rng(4)
    pts = rng.uniform(-5, 5, (8, 3))
    r = _rotation(rng)
    got = umeyama(pts, pts @ r.T + 1.0, with_scale=False)
    assert got.scale == 1.0 and np.allclose(got.rotation, r)
