"""Tests of the compressor's numeric helper (SH palette k-means, codebook, PSNR)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import faiss_kmeans  # noqa: E402
import sog_tools  # noqa: E402


def _blobs(n_per: int, centres: np.ndarray, spread: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pts = [c + spread * rng.standard_normal((n_per, centres.shape[1])) for c in centres]
    out: np.ndarray = np.concatenate(pts).astype(np.float32)
    return out


def test_assign_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal((3000, 45)).astype(np.float32))
    c = torch.from_numpy(rng.standard_normal((700, 45)).astype(np.float32))
    got = sog_tools.assign(x, c, row_block=512, col_block=128)
    want = torch.cdist(x, c).argmin(dim=1)
    assert (got == want).float().mean() > 0.999  # ties in float32 only


def test_kmeans_recovers_separated_clusters() -> None:
    rng = np.random.default_rng(1)
    centres = rng.uniform(-5, 5, (8, 45)).astype(np.float32)
    pts = _blobs(400, centres, 0.05, 2)
    cents, labels = sog_tools.kmeans(pts, 64, iterations=10, sample=1000, seed=3)
    assert cents.shape == (64, 45) and labels.shape == (pts.shape[0],)
    err = np.sqrt(((pts - cents[labels]) ** 2).sum(axis=1)).mean()
    # well separated blobs: every point ends near a centre inside its own blob
    # (a point's distance to its blob's mean is spread*sqrt(45) ~ 0.34; blobs are ~20 apart)
    assert err < 0.4
    assert len(np.unique(labels)) >= 56


def test_kmeans_with_fewer_points_than_clusters_is_lossless() -> None:
    pts = np.arange(20, dtype=np.float32).reshape(4, 5)
    cents, labels = sog_tools.kmeans(pts, 16, iterations=3, sample=100)
    np.testing.assert_array_equal(cents[labels], pts)


def test_quantize_1d_codebook() -> None:
    rng = np.random.default_rng(4)
    v = rng.laplace(0, 0.1, (500, 45)).astype(np.float32)
    cb, lab = sog_tools.quantize_1d(v)
    assert cb.shape == (256,) and np.all(np.diff(cb) >= 0)
    assert lab.shape == v.shape and lab.dtype == np.uint8
    err = np.abs(cb[lab] - v)
    assert err.max() < 0.15  # sparse tails keep entries (plain 1D k-means: 0.23 here)
    assert np.sqrt((err ** 2).mean()) < 0.003


def test_psnr() -> None:
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 255
    assert sog_tools.psnr(a, a) == float("inf")
    assert abs(sog_tools.psnr(a, b) - 10 * np.log10(48)) < 1e-9


def test_faiss_kmeans_recovers_clusters_and_stops_at_convergence() -> None:
    rng = np.random.default_rng(5)
    centres = rng.uniform(-5, 5, (8, 45)).astype(np.float32)
    pts = _blobs(400, centres, 0.05, 6)
    cents, labels, stats = faiss_kmeans.kmeans_faiss(pts, 64, max_iterations=30, sample=2000, tolerance=1e-3, seed=1)
    assert cents.shape == (64, 45) and labels.shape == (pts.shape[0],) and labels.dtype == np.uint32
    assert np.sqrt(((pts - cents[labels]) ** 2).sum(axis=1)).mean() < 0.4
    # separated blobs settle in a few steps: it stops well before the cap, and says so
    assert stats.converged and stats.iterations < 30
    assert stats.objectives[-1] <= stats.objectives[0]
    assert stats.index == "flat"


def test_faiss_kmeans_inverted_file_matches_exact_quality() -> None:
    # a palette large enough for the inverted-file assignment; its distortion stays within
    # 2 % of the exact PyTorch k-means with the same sample and pass count
    rng = np.random.default_rng(7)
    pts = (rng.standard_normal((30000, 45)) * (0.12 / (1 + np.arange(45) % 15))).astype(np.float32)
    k = faiss_kmeans.IVF_MIN_PALETTE
    c1, l1, stats = faiss_kmeans.kmeans_faiss(pts, k, max_iterations=6, sample=20000, tolerance=0.0, seed=2)
    c0, l0 = sog_tools.kmeans(pts, k, iterations=6, sample=20000, seed=2)
    sse_new = float(((pts - c1[l1]) ** 2).sum())
    sse_old = float(((pts - c0[l0]) ** 2).sum())
    assert stats.index.startswith("ivf") and stats.iterations == 6 and not stats.converged
    assert sse_new < 1.02 * sse_old


def test_converged_threshold_is_relative() -> None:
    assert faiss_kmeans.converged([100.0, 99.9], 0.005)
    assert not faiss_kmeans.converged([100.0, 90.0], 0.005)
    assert faiss_kmeans.converged([0.0, 0.0], 0.005)


def test_member_means_keeps_empty_centroids() -> None:
    x = np.array([[0.0, 0.0], [2.0, 2.0], [10.0, 10.0]], dtype=np.float32)
    c = np.array([[1.0, 1.0], [9.0, 9.0], [50.0, 50.0]], dtype=np.float32)
    got = faiss_kmeans.member_means(x, np.array([0, 0, 1]), c)
    np.testing.assert_allclose(got, [[1.0, 1.0], [10.0, 10.0], [50.0, 50.0]])
