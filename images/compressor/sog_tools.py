"""Numeric helpers for the compressor stage, run by the TypeScript entry program.

``kmeans``: the spherical-harmonics palette of a SOG file. splat-transform 3.7 clusters the
SH coefficients with a WebGPU k-means that is unusable without a GPU; this is the same
Lloyd k-means done as chunked matrix products in PyTorch (all cores, or CUDA when present):
argmin_c ||x - c||^2 = argmin_c (||c||^2 - 2 x.c). Centroids are fitted on a random
sample of the rows (all rows when there are few), then every row is assigned once and the
centroids get a final update from the full assignment. The palette is then quantised to
a 256-entry codebook (1D k-means over all its values) as the SOG format stores it.

The k-means itself: ``COMPRESS_KMEANS=faiss`` (the default on CPU) runs faiss's k-means with an
inverted-file assignment and stops at convergence (faiss_kmeans.py); ``torch`` (the default
when CUDA is present) is the exact blocked-matrix-product Lloyd below, for a fixed count.

``thumbnail``: the email's small JPEG of the preview. ``time-assign``: the benchmark's timing
of the exact assignment. ``psnr``: PSNR between two folders of renders with the same file names.

Binary files are raw little-endian arrays (float32 / uint32 / uint8), row-major.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from faiss_kmeans import kmeans_faiss


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _device() -> torch.device:
    wanted = os.environ.get("COMPRESS_KMEANS_DEVICE", "auto")
    if wanted == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(wanted)


def _method(dev: torch.device) -> str:
    """COMPRESS_KMEANS: faiss, torch, or auto (torch on CUDA, faiss on CPU)."""
    wanted = os.environ.get("COMPRESS_KMEANS", "auto")
    if wanted not in ("auto", "faiss", "torch"):
        raise SystemExit(f"COMPRESS_KMEANS={wanted} is not one of auto, faiss, torch")
    if wanted == "auto":
        return "torch" if dev.type == "cuda" else "faiss"
    return wanted


def assign(points: torch.Tensor, centroids: torch.Tensor, row_block: int = 4096,
           col_block: int = 8192) -> torch.Tensor:
    """Index of the nearest centroid for every row (squared Euclidean), in blocks."""
    n = points.shape[0]
    k = centroids.shape[0]
    cnorm = (centroids * centroids).sum(dim=1)
    labels = torch.empty(n, dtype=torch.int64, device=points.device)
    for r0 in range(0, n, row_block):
        x = points[r0:r0 + row_block]
        best = torch.full((x.shape[0],), math.inf, device=points.device)
        best_idx = torch.zeros(x.shape[0], dtype=torch.int64, device=points.device)
        for c0 in range(0, k, col_block):
            # ||c||^2 - 2 x.c  (||x||^2 is constant per row)
            d = torch.addmm(cnorm[c0:c0 + col_block], x, centroids[c0:c0 + col_block].T, alpha=-2.0)
            val, idx = d.min(dim=1)
            better = val < best
            best = torch.where(better, val, best)
            best_idx = torch.where(better, idx + c0, best_idx)
        labels[r0:r0 + row_block] = best_idx
    return labels


def update(points: torch.Tensor, labels: torch.Tensor, centroids: torch.Tensor,
           generator: torch.Generator) -> torch.Tensor:
    """Mean of each cluster; an empty cluster is re-seeded with a random point."""
    k, d = centroids.shape
    sums = torch.zeros((k, d), dtype=torch.float64, device=points.device)
    sums.index_add_(0, labels, points.to(torch.float64))
    counts = torch.bincount(labels, minlength=k).to(torch.float64)
    new = centroids.clone()
    filled = counts > 0
    new[filled] = (sums[filled] / counts[filled, None]).to(points.dtype)
    empty = int((~filled).sum())
    if empty:
        pick = torch.randint(0, points.shape[0], (empty,), generator=generator).to(points.device)
        new[~filled] = points[pick]
    return new


def kmeans(points: np.ndarray, k: int, iterations: int, sample: int, seed: int = 0,
           device: torch.device | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd k-means; returns (centroids float32 [k', d], labels uint32 [n]), k' = min(k, n)."""
    dev = device or torch.device("cpu")
    n, d = points.shape
    gen = torch.Generator().manual_seed(seed)
    x_all = torch.from_numpy(np.ascontiguousarray(points, dtype=np.float32)).to(dev)
    if n <= k:
        return points.astype(np.float32).copy(), np.arange(n, dtype=np.uint32)
    init = torch.randperm(n, generator=gen)[:k].to(dev)
    centroids = x_all[init].clone()
    if sample and n > sample:
        fit = x_all[torch.randperm(n, generator=gen)[:sample].to(dev)]
    else:
        fit = x_all
    t0 = time.time()
    for it in range(max(0, iterations - 1)):
        labels = assign(fit, centroids)
        centroids = update(fit, labels, centroids, gen)
        _log(f"kmeans: iteration {it + 1}/{iterations} ({time.time() - t0:.1f}s)")
    labels = assign(x_all, centroids)
    # final update: each centroid becomes the mean of the rows that carry its label, which is
    # the optimal palette entry for that assignment (re-assigning would double the cost)
    centroids = update(x_all, labels, centroids, gen)
    _log(f"kmeans: iteration {iterations}/{iterations} ({time.time() - t0:.1f}s)")
    return centroids.cpu().numpy().astype(np.float32), labels.cpu().numpy().astype(np.uint32)


def quantize_1d(values: np.ndarray, k: int = 256, alpha: float = 0.5, bins: int = 8192,
                iterations: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """1D codebook (ascending, k entries) and uint8 labels, as splat-transform's quantize1d:
    a histogram whose bins weigh count**alpha (alpha < 1 gives sparse tails their share),
    then weighted 1D Lloyd from quantile seeds; values are labelled with the nearest entry."""
    flat = values.astype(np.float64).ravel()
    if flat.size == 0:
        return np.zeros(k, np.float32), np.zeros(values.shape, np.uint8)
    lo, hi = float(flat.min()), float(flat.max())
    if hi - lo < 1e-20:
        return np.full(k, lo, np.float32), np.zeros(values.shape, np.uint8)
    idx = np.minimum(((flat - lo) / (hi - lo) * bins).astype(np.int64), bins - 1)
    count = np.bincount(idx, minlength=bins).astype(np.float64)
    total = np.bincount(idx, weights=flat, minlength=bins)
    used = count > 0
    centre = total[used] / count[used]
    weight = count[used] ** alpha
    cdf = np.cumsum(weight) / weight.sum()
    cb = centre[np.minimum(np.searchsorted(cdf, (2 * np.arange(k) + 1) / (2 * k)), centre.size - 1)]
    for _ in range(iterations):
        cb = np.unique(cb)
        lab = np.searchsorted((cb[1:] + cb[:-1]) * 0.5, centre)
        ws = np.bincount(lab, weights=weight * centre, minlength=cb.size)
        wc = np.bincount(lab, weights=weight, minlength=cb.size)
        new = np.where(wc > 0, ws / np.maximum(wc, 1e-300), cb)
        if np.allclose(new, cb, rtol=0, atol=1e-12):
            break
        cb = new
    cb = np.sort(np.unique(cb))
    if cb.size < k:
        cb = np.concatenate([cb, np.full(k - cb.size, cb[-1])])
    cb32 = cb[:k].astype(np.float32)
    edges = (cb32[1:].astype(np.float64) + cb32[:-1]) * 0.5
    labels = np.searchsorted(edges, flat, side="right").astype(np.uint8)
    return cb32, labels.reshape(values.shape)


def cmd_kmeans(args: argparse.Namespace) -> None:
    # COMPRESS_THREADS, else the share the local runtime grants (OMP_NUM_THREADS), else every core.
    threads = os.environ.get("COMPRESS_THREADS") or os.environ.get("OMP_NUM_THREADS") or "0"
    torch.set_num_threads(int(threads) or (os.cpu_count() or 1))
    dev = _device()
    pts = np.fromfile(args.input, dtype=np.float32)
    if pts.size != args.rows * args.dims:
        raise SystemExit(f"kmeans input has {pts.size} values, expected {args.rows}x{args.dims}")
    pts = pts.reshape(args.rows, args.dims)
    method = _method(dev)
    if method == "faiss":
        import faiss

        faiss.omp_set_num_threads(torch.get_num_threads())
    t0 = time.time()
    extra: dict[str, object] = {"method": method}
    if method == "faiss":
        centroids, labels, stats = kmeans_faiss(pts, args.k, args.iterations, args.sample, args.tolerance,
                                                args.seed, args.nprobe, _log)
        extra.update(iterations=stats.iterations, converged=stats.converged, index=stats.index,
                     objectives=stats.objectives, fit_seconds=round(stats.fit_seconds, 3),
                     assign_seconds=round(stats.assign_seconds, 3))
    else:
        centroids, labels = kmeans(pts, args.k, args.iterations, args.sample, args.seed, dev)
        extra.update(iterations=args.iterations, converged=False, index="exact")
    t_kmeans = time.time() - t0
    codebook, cb_labels = quantize_1d(centroids)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    labels.astype("<u4").tofile(out / "labels.u32")
    centroids.astype("<f4").tofile(out / "centroids.f32")
    codebook.astype("<f4").tofile(out / "codebook.f32")
    cb_labels.astype(np.uint8).tofile(out / "centroid_labels.u8")
    sse = float(((pts - centroids[labels]) ** 2).sum())
    info = {"centroids": int(centroids.shape[0]), "device": str(dev), "threads": torch.get_num_threads(),
            "sse_per_row": sse / max(1, args.rows),
            "seconds": round(t_kmeans, 3), **extra}
    (out / "info.json").write_text(json.dumps(info))


def cmd_time_assign(args: argparse.Namespace) -> None:
    """Times the exact PyTorch assignment of the first --probe rows against --k centroids drawn
    from the rows (the unit of work the torch k-means repeats), for projecting it by FLOPs."""
    threads = os.environ.get("COMPRESS_THREADS") or "0"
    torch.set_num_threads(int(threads) or (os.cpu_count() or 1))
    pts = np.fromfile(args.input, dtype=np.float32).reshape(args.rows, args.dims)
    gen = torch.Generator().manual_seed(args.seed)
    x = torch.from_numpy(np.ascontiguousarray(pts[:args.probe]))
    c = torch.from_numpy(pts)[torch.randperm(args.rows, generator=gen)[:args.k]].clone()
    t0 = time.time()
    assign(x, c)
    seconds = time.time() - t0
    flop = 2.0 * x.shape[0] * c.shape[0] * args.dims
    print(json.dumps({"rows": int(x.shape[0]), "k": int(c.shape[0]), "seconds": seconds,
                      "gflops": flop / seconds / 1e9, "threads": torch.get_num_threads()}))


def cmd_thumbnail(args: argparse.Namespace) -> None:
    """A JPEG at most --width wide and under --max-bytes (quality stepped down until it fits)."""
    from PIL import Image

    img = Image.open(args.input).convert("RGB")
    if img.width > args.width:
        img = img.resize((args.width, max(1, round(img.height * args.width / img.width))), Image.Resampling.LANCZOS)
    for quality in (85, 75, 65, 55, 45, 35):
        img.save(args.out, "JPEG", quality=quality, optimize=True, progressive=True)
        if Path(args.out).stat().st_size <= args.max_bytes:
            break
    else:
        raise SystemExit(f"thumbnail stays over {args.max_bytes} bytes even at JPEG quality 35")
    print(json.dumps({"width": img.width, "height": img.height, "quality": quality}))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images of the same shape (inf when identical)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def cmd_psnr(args: argparse.Namespace) -> None:
    from PIL import Image

    ref, test = Path(args.reference), Path(args.test)
    exts = {".png", ".jpg", ".jpeg", ".webp"}
    names = sorted(p.name for p in ref.iterdir() if p.suffix.lower() in exts)
    per: dict[str, float] = {}
    for name in names:
        other = test / name
        if not other.exists():
            continue
        a = np.asarray(Image.open(ref / name).convert("RGB"))
        b = np.asarray(Image.open(other).convert("RGB"))
        if a.shape != b.shape:
            continue
        per[name] = psnr(a, b)
    finite = [v for v in per.values() if math.isfinite(v)]
    mean = (sum(finite) / len(finite)) if finite else (math.inf if per else None)
    print(json.dumps({"images": len(per), "mean_psnr": None if mean is None or not math.isfinite(mean) else mean,
                      "per_image": {k: (v if math.isfinite(v) else None) for k, v in per.items()}}))


def _rows_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]", name: str) -> argparse.ArgumentParser:
    """A sub-command reading --rows x --dims float32 rows from --input, for --k centroids."""
    p = sub.add_parser(name)
    p.add_argument("--input", required=True)
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--dims", type=int, required=True)
    p.add_argument("--k", type=int, required=True)
    return p


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    k = _rows_parser(sub, "kmeans")
    k.add_argument("--iterations", type=int, default=10)
    k.add_argument("--sample", type=int, default=262144)
    k.add_argument("--seed", type=int, default=0)
    k.add_argument("--tolerance", type=float, default=0.005, help="stop when the objective improves less (relative)")
    k.add_argument("--nprobe", type=int, default=16, help="inverted-file cells searched per row (faiss)")
    k.add_argument("--out", required=True)
    ta = _rows_parser(sub, "time-assign")
    ta.add_argument("--probe", type=int, default=32768)
    ta.add_argument("--seed", type=int, default=0)
    th = sub.add_parser("thumbnail")
    th.add_argument("--input", required=True)
    th.add_argument("--out", required=True)
    th.add_argument("--width", type=int, default=480)
    th.add_argument("--max-bytes", type=int, default=60 * 1024)
    p = sub.add_parser("psnr")
    p.add_argument("--reference", required=True)
    p.add_argument("--test", required=True)
    args = parser.parse_args(argv)
    commands = {"kmeans": cmd_kmeans, "time-assign": cmd_time_assign, "thumbnail": cmd_thumbnail, "psnr": cmd_psnr}
    commands[args.cmd](args)


if __name__ == "__main__":
    main()
