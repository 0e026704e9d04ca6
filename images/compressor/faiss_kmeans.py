"""The SH palette k-means on faiss (CPU): fit on a sample, assign every row, stop at convergence.

The exact nearest-centroid search is the whole cost of the palette (rows x palette x 45 dims;
1M rows against 64k centroids is 5.9 TFLOP per pass). faiss's k-means (``faiss.Clustering``)
runs the Lloyd steps with its own empty-cluster splitting; here its assignment index is an
inverted file over the centroids (``IndexIVFFlat``: ``nlist`` = palette / 64 coarse cells,
``nprobe`` of them searched per row), which visits about a twentieth of the centroids per row
and finds the exact nearest for ~96 % of rows (the rest get a centroid about as near). The
coarse cells are trained once on the initial centroids and kept: centroids move little between
iterations, so each step only re-files them. Small palettes (< ``IVF_MIN_PALETTE``) use the
exact flat index.

Iterations stop when the fit objective (sum of squared distances) improves by less than
``tolerance`` (relative) from one step to the next, or after ``max_iterations``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import faiss
import numpy as np

IVF_MIN_PALETTE = 4096
CENTROIDS_PER_CELL = 64


@dataclass
class FitStats:
    iterations: int = 0
    converged: bool = False
    objectives: list[float] = field(default_factory=list)
    fit_seconds: float = 0.0
    assign_seconds: float = 0.0
    index: str = "flat"


def make_index(centroids: np.ndarray, nprobe: int) -> Any:
    """Nearest-centroid index: exact for small palettes, an inverted file above."""
    k, d = centroids.shape
    if k < IVF_MIN_PALETTE:
        flat = faiss.IndexFlatL2(d)
        flat.add(centroids)
        return flat
    quantizer = faiss.IndexFlatL2(d)
    ivf = faiss.IndexIVFFlat(quantizer, d, max(1, k // CENTROIDS_PER_CELL))
    ivf.cp.min_points_per_centroid = 1  # the coarse cells come from k centroids, not from rows
    ivf.train(centroids)
    ivf.add(centroids)
    ivf.nprobe = nprobe
    return ivf


def refile(index: Any, centroids: np.ndarray) -> None:
    """Replace the indexed centroids (the coarse cells stay as trained)."""
    index.reset()
    index.add(np.ascontiguousarray(centroids, dtype=np.float32))


def lloyd_step(x: np.ndarray, centroids: np.ndarray, index: Any, seed: int) -> tuple[np.ndarray, float]:
    """One faiss k-means iteration from `centroids`; (new centroids, objective before the step)."""
    k, d = centroids.shape
    cp = faiss.ClusteringParameters()
    cp.niter = 1
    cp.seed = seed
    cp.min_points_per_centroid = 1
    cp.max_points_per_centroid = max(1, x.shape[0] // k + 1)  # no further subsampling
    clus = faiss.Clustering(d, k, cp)
    faiss.copy_array_to_vector(np.ascontiguousarray(centroids, dtype=np.float32).ravel(), clus.centroids)
    clus.train(x, index)
    new = faiss.vector_to_array(clus.centroids).reshape(k, d).astype(np.float32)
    iteration_stats: Any = clus.iteration_stats  # a SWIG vector at run time
    objective = float(iteration_stats.at(0).obj)
    return new, objective


def assign(index: Any, x: np.ndarray, centroids: np.ndarray, block: int = 65536) -> np.ndarray:
    """Nearest centroid of every row; rows the inverted file finds nothing for get an exact search."""
    labels = np.empty(x.shape[0], dtype=np.int64)
    for r0 in range(0, x.shape[0], block):
        _, idx = index.search(x[r0:r0 + block], 1)
        labels[r0:r0 + block] = idx[:, 0]
    missing = np.flatnonzero(labels < 0)
    if missing.size:
        flat = faiss.IndexFlatL2(x.shape[1])
        flat.add(centroids)
        labels[missing] = flat.search(x[missing], 1)[1][:, 0]
    return labels


def member_means(x: np.ndarray, labels: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Each centroid moved to the mean of its rows (an empty one keeps its place)."""
    k, d = centroids.shape
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    out = centroids.astype(np.float64).copy()
    filled = counts > 0
    for j in range(d):
        s = np.bincount(labels, weights=x[:, j].astype(np.float64), minlength=k)
        out[filled, j] = s[filled] / counts[filled]
    return out.astype(np.float32)


def kmeans_faiss(points: np.ndarray, k: int, max_iterations: int, sample: int, tolerance: float,
                 seed: int = 0, nprobe: int = 16,
                 log: Callable[[str], None] = lambda _m: None) -> tuple[np.ndarray, np.ndarray, FitStats]:
    """(centroids float32 [k', d], labels uint32 [n], stats); k' = min(k, n)."""
    x_all = np.ascontiguousarray(points, dtype=np.float32)
    n = x_all.shape[0]
    stats = FitStats()
    if n <= k:
        return x_all.copy(), np.arange(n, dtype=np.uint32), stats
    rng = np.random.default_rng(seed)
    fit = x_all[np.sort(rng.choice(n, size=sample, replace=False))] if 0 < sample < n else x_all
    centroids = fit[rng.choice(fit.shape[0], size=k, replace=False)].copy()
    t0 = time.time()
    index = make_index(centroids, nprobe)
    stats.index = "flat" if k < IVF_MIN_PALETTE else f"ivf{index.nlist},nprobe{nprobe}"
    for it in range(max(0, max_iterations - 1)):
        centroids, obj = lloyd_step(fit, centroids, index, seed + it)
        refile(index, centroids)
        stats.objectives.append(obj)
        stats.iterations = it + 1
        log(f"kmeans: iteration {it + 1}/{max_iterations} ({time.time() - t0:.1f}s, objective {obj:.6g})")
        if len(stats.objectives) >= 2 and converged(stats.objectives, tolerance):
            stats.converged = True
            break
    stats.fit_seconds = time.time() - t0
    t1 = time.time()
    labels = assign(index, x_all, centroids)
    # each centroid becomes the mean of the rows carrying its label: the best palette entry
    # for this assignment (a second full assignment would double the cost)
    centroids = member_means(x_all, labels, centroids)
    stats.assign_seconds = time.time() - t1
    stats.iterations += 1
    log(f"kmeans: iteration {max_iterations}/{max_iterations} ({time.time() - t0:.1f}s, all {n} rows assigned)")
    return centroids, labels.astype(np.uint32), stats


def converged(objectives: list[float], tolerance: float) -> bool:
    """The last step improved the objective by less than `tolerance` of its previous value."""
    prev, last = objectives[-2], objectives[-1]
    return prev <= 0 or (prev - last) / prev < tolerance
