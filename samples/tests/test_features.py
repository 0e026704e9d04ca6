"""The textures give SIFT many distinctive features, and matches agree with the true poses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from samples.survey import SurveyConfig, generate, photo_name
from samples.truth import Truth, load_truth

pycolmap = pytest.importorskip("pycolmap")


def _sift(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with Image.open(path) as im:
        gray = np.ascontiguousarray(np.asarray(im.convert("L"), np.float32) / 255.0)
    kp, desc = pycolmap.FeatureExtractor.create().extract_from_float32_array(gray)
    xy = np.array([(k.x, k.y) for k in kp], np.float64)
    d = np.asarray(desc.data, np.float32)
    return xy, d / np.linalg.norm(d, axis=1, keepdims=True)


def _fundamental(t: Truth, a: int, b: int) -> np.ndarray:
    k = np.array([[t.fx, 0, t.cx], [0, t.fy, t.cy], [0, 0, 1.0]])
    ra, rb = t.images[a].rotation.T, t.images[b].rotation.T  # world-to-camera
    r = rb @ ra.T
    tr = rb @ (t.images[a].center - t.images[b].center)
    tx = np.array([[0, -tr[2], tr[1]], [tr[2], 0, -tr[0]], [-tr[1], tr[0], 0]])
    ki = np.linalg.inv(k)
    f: np.ndarray = ki.T @ tx @ r @ ki
    return f


def test_neighbouring_photos_match_and_agree_with_true_poses(tmp_path: Path) -> None:
    generate(tmp_path, SurveyConfig(seed=0, count=2, width=400, height=300, pattern="grid"), log=lambda _: None)
    truth = load_truth(tmp_path)
    (ka, da), (kb, db) = (_sift(tmp_path / "photos" / photo_name(i)) for i in (0, 1))
    assert len(ka) > 800 and len(kb) > 800
    # mutual nearest neighbours passing Lowe's ratio test
    d = da @ db.T
    nn = np.argsort(-d, axis=1)[:, :2]
    ang = np.arccos(np.clip(d[np.arange(len(da))[:, None], nn], -1, 1))
    good = ang[:, 0] < 0.8 * ang[:, 1]
    mutual = np.argmax(d, axis=0)[nn[:, 0]] == np.arange(len(da))
    ia = np.flatnonzero(good & mutual)
    ib = nn[ia, 0]
    assert len(ia) > 300
    # pixel centres follow COLMAP's convention (0.5, 0.5); SIFT's keypoints do too
    f = _fundamental(truth, 0, 1)
    pa = np.c_[ka[ia], np.ones(len(ia))]
    pb = np.c_[kb[ib], np.ones(len(ib))]
    lines = pa @ f.T
    dist = np.abs(np.sum(lines * pb, axis=1)) / np.hypot(lines[:, 0], lines[:, 1])
    print(f"keypoints {len(ka)}/{len(kb)}, matches {len(ia)}, inliers(<2px) {np.mean(dist < 2.0):.3f}, median {np.median(dist):.3f} px")
    assert np.mean(dist < 2.0) > 0.9
    assert np.median(dist) < 0.5
