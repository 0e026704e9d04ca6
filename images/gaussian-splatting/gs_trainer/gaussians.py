"""Gaussian parameters: initialisation from SfM points, and the standard 3DGS PLY layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from .sh import num_sh_bases, rgb_to_sh0

# Raw (pre-activation) parameters, as 3DGS stores them:
#   means [N,3], scales [N,3] (log), quats [N,4] (w,x,y,z), opacities [N] (logit),
#   sh0 [N,1,3], shN [N,K-1,3]
Params = dict[str, Tensor]
PARAM_NAMES = ("means", "scales", "quats", "opacities", "sh0", "shN")


def knn_mean_dist(points: Tensor, k: int = 3, chunk_elems: int = 1 << 22) -> Tensor:
    """Mean distance to the k nearest other points (exact search, in chunks of rows whose distance
    matrix stays under ``chunk_elems`` entries: 16 MiB, where 2048 rows of a 100k-point cloud took
    1.5 GiB at once)."""
    n = points.shape[0]
    if n <= 1:
        return torch.ones(n)
    k = min(k, n - 1)
    out = torch.empty(n)
    chunk = max(1, chunk_elems // n)
    for i in range(0, n, chunk):
        d = torch.cdist(points[i : i + chunk], points)
        vals = torch.topk(d, k + 1, largest=False).values[:, 1:]
        out[i : i + chunk] = vals.square().mean(-1).sqrt()
    return out


def init_params(points: Tensor, colors: Tensor, sh_degree: int, max_gaussians: int, seed: int) -> Params:
    g = torch.Generator().manual_seed(seed)
    if points.shape[0] > max_gaussians:
        keep = torch.randperm(points.shape[0], generator=g)[:max_gaussians]
        points, colors = points[keep], colors[keep]
    n = points.shape[0]
    dist = knn_mean_dist(points).clamp_min(1e-7)
    k = num_sh_bases(sh_degree)
    sh0 = rgb_to_sh0(colors)[:, None, :]
    return {
        "means": points.clone(),
        "scales": torch.log(dist)[:, None].repeat(1, 3),
        "quats": torch.rand(n, 4, generator=g),
        "opacities": torch.logit(torch.full((n,), 0.1)),
        "sh0": sh0,
        "shN": torch.zeros(n, k - 1, 3),
    }


def activated(p: Params) -> tuple[Tensor, Tensor, Tensor, Tensor, tuple[Tensor, Tensor]]:
    """means, quats, scales, opacities, and the SH coefficients as the pair (sh0 [N, 1, 3], shN
    [N, K-1, 3]), uncopied (``backends.SH``: the rasterizers take it as it is)."""
    return p["means"], p["quats"], torch.exp(p["scales"]), torch.sigmoid(p["opacities"]), (p["sh0"], p["shN"])


PLY_REST = 45  # f_rest_0..44: degree 3, written even when trained with a lower degree


def ply_fields() -> list[str]:
    return (
        ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
        + [f"f_rest_{i}" for i in range(PLY_REST)]
        + ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
    )


def write_ply(path: Path, p: Params) -> None:
    """Binary little-endian PLY in the layout of the 3DGS reference (read by SuperSplat, splat-transform)."""
    means = p["means"].detach().cpu().float()
    n = means.shape[0]
    shN = p["shN"].detach().cpu().float()
    rest = torch.zeros(n, PLY_REST // 3, 3)
    rest[:, : shN.shape[1]] = shN
    quats = p["quats"].detach().cpu().float()
    quats = quats / quats.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    cols = [
        means,
        torch.zeros(n, 3),
        p["sh0"].detach().cpu().float().reshape(n, 3),
        rest.transpose(1, 2).reshape(n, PLY_REST),  # channel-major, as in the reference
        p["opacities"].detach().cpu().float().reshape(n, 1),
        p["scales"].detach().cpu().float(),
        quats,
    ]
    data = torch.cat(cols, dim=1).numpy().astype("<f4")
    names = ply_fields()
    assert data.shape[1] == len(names)
    header = "ply\nformat binary_little_endian 1.0\n" f"element vertex {n}\n"
    header += "".join(f"property float {name}\n" for name in names) + "end_header\n"
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as f:
        f.write(header.encode("ascii"))
        f.write(data.tobytes())
    tmp.replace(path)


_PLY_TYPES = {
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8", "uchar": "u1", "uint8": "u1",
    "char": "i1", "int8": "i1", "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
}


def read_ply(path: Path) -> Params:
    """Reads a 3DGS PLY (any SH degree 0-3; binary little-endian) back into raw parameters."""
    with open(path, "rb") as f:
        if f.readline().strip() != b"ply":
            raise ValueError(f"{path} is not a PLY file")
        fmt = f.readline().decode("ascii").split()
        if fmt[:2] != ["format", "binary_little_endian"]:
            raise ValueError(f"{path}: only binary_little_endian PLY is supported, got {' '.join(fmt[1:2])}")
        n = -1
        props: list[tuple[str, str]] = []
        in_vertex = False
        while True:
            line = f.readline()
            if not line:
                raise ValueError(f"{path}: PLY header has no end_header")
            parts = line.decode("ascii").split()
            if not parts:
                continue
            if parts[0] == "end_header":
                break
            if parts[0] == "element":
                in_vertex = parts[1] == "vertex"
                if in_vertex:
                    n = int(parts[2])
                elif n >= 0:
                    break
            elif parts[0] == "property" and in_vertex:
                if parts[1] == "list":
                    raise ValueError(f"{path}: list properties in the vertex element are not supported")
                props.append((parts[2], "<" + _PLY_TYPES[parts[1]]))
        if n < 0:
            raise ValueError(f"{path}: PLY has no vertex element")
        arr = np.frombuffer(f.read(np.dtype(props).itemsize * n), dtype=np.dtype(props), count=n)

    def col(name: str) -> NDArray[np.float32]:
        if name not in arr.dtype.names:  # type: ignore[operator]
            raise ValueError(f"{path}: PLY has no '{name}' property; not a 3D Gaussian splat")
        return np.array(arr[name], dtype=np.float32)

    def stack(names: list[str]) -> Tensor:
        return torch.from_numpy(np.stack([col(x) for x in names], axis=1))

    rest_names = sorted(
        (x for x in arr.dtype.names or () if x.startswith("f_rest_")), key=lambda s: int(s.split("_")[-1])
    )
    per = len(rest_names) // 3
    rest = stack(rest_names) if rest_names else torch.zeros(n, 0)
    return {
        "means": stack(["x", "y", "z"]),
        "scales": stack(["scale_0", "scale_1", "scale_2"]),
        "quats": stack(["rot_0", "rot_1", "rot_2", "rot_3"]),
        "opacities": torch.from_numpy(col("opacity")),
        "sh0": stack(["f_dc_0", "f_dc_1", "f_dc_2"])[:, None, :],
        "shN": rest.reshape(n, 3, per).transpose(1, 2).contiguous(),
    }


def sh_degree_of(p: Params) -> int:
    k = p["shN"].shape[1] + 1
    for d in range(4):
        if num_sh_bases(d) == k:
            return d
    raise ValueError(f"{k} SH coefficients per channel is not a degree 0-3 layout")
