"""A small typed reader (and writer, for tests) of COLMAP's binary sparse model.

Format: colmap/src/colmap/scene/reconstruction_io.cc (cameras.bin, images.bin, points3D.bin),
little-endian. Only what training needs is kept: intrinsics, poses, names, 3D points+colours.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from numpy.typing import NDArray

# model id -> (name, number of parameters)
CAMERA_MODELS: dict[int, tuple[str, int]] = {
    0: ("SIMPLE_PINHOLE", 3),
    1: ("PINHOLE", 4),
    2: ("SIMPLE_RADIAL", 4),
    3: ("RADIAL", 5),
    4: ("OPENCV", 8),
    5: ("OPENCV_FISHEYE", 8),
    6: ("FULL_OPENCV", 12),
    7: ("FOV", 5),
    8: ("SIMPLE_RADIAL_FISHEYE", 4),
    9: ("RADIAL_FISHEYE", 5),
    10: ("THIN_PRISM_FISHEYE", 12),
    11: ("RAD_TAN_THIN_PRISM_FISHEYE", 16),
}
MODEL_IDS = {name: i for i, (name, _) in CAMERA_MODELS.items()}


class ColmapError(ValueError):
    pass


@dataclass
class Camera:
    id: int
    model: str
    width: int
    height: int
    params: NDArray[np.float64]

    def intrinsics(self) -> tuple[float, float, float, float]:
        """fx, fy, cx, cy for pinhole models (undistorted input)."""
        p = self.params
        if self.model == "PINHOLE":
            return float(p[0]), float(p[1]), float(p[2]), float(p[3])
        if self.model == "SIMPLE_PINHOLE":
            return float(p[0]), float(p[0]), float(p[1]), float(p[2])
        raise ColmapError(
            f"camera {self.id} uses the {self.model} model; training needs undistorted PINHOLE or "
            "SIMPLE_PINHOLE cameras (run COLMAP's image_undistorter in the SfM stage)"
        )


@dataclass
class Image:
    id: int
    qvec: NDArray[np.float64]  # world-to-camera rotation, (w, x, y, z)
    tvec: NDArray[np.float64]  # world-to-camera translation
    camera_id: int
    name: str

    def world_to_camera(self) -> NDArray[np.float64]:
        m = np.eye(4)
        m[:3, :3] = qvec_to_rotmat(self.qvec)
        m[:3, 3] = self.tvec
        return m


@dataclass
class Points:
    xyz: NDArray[np.float64]  # [N, 3]
    rgb: NDArray[np.uint8]  # [N, 3]
    error: NDArray[np.float64]  # [N]


@dataclass
class Model:
    cameras: dict[int, Camera]
    images: dict[int, Image]
    points: Points


def qvec_to_rotmat(q: NDArray[np.float64]) -> NDArray[np.float64]:
    w, x, y, z = q / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def rotmat_to_qvec(R: NDArray[np.float64]) -> NDArray[np.float64]:
    K = np.array(
        [
            [R[0, 0] - R[1, 1] - R[2, 2], 0, 0, 0],
            [R[1, 0] + R[0, 1], R[1, 1] - R[0, 0] - R[2, 2], 0, 0],
            [R[2, 0] + R[0, 2], R[2, 1] + R[1, 2], R[2, 2] - R[0, 0] - R[1, 1], 0],
            [R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1], R[0, 0] + R[1, 1] + R[2, 2]],
        ]
    ) / 3.0
    vals, vecs = np.linalg.eigh(K)
    q = vecs[[3, 0, 1, 2], np.argmax(vals)]
    return q if q[0] >= 0 else -q


class _Reader:
    def __init__(self, f: BinaryIO, path: Path) -> None:
        self.f = f
        self.path = path

    def read(self, fmt: str) -> tuple[object, ...]:
        size = struct.calcsize("<" + fmt)
        data = self.f.read(size)
        if len(data) != size:
            raise ColmapError(f"{self.path} is truncated")
        return struct.unpack("<" + fmt, data)

    def read_array(self, dtype: str, count: int) -> NDArray[np.generic]:
        size = np.dtype(dtype).itemsize * count
        data = self.f.read(size)
        if len(data) != size:
            raise ColmapError(f"{self.path} is truncated")
        return np.frombuffer(data, dtype=dtype)


def read_cameras(path: Path) -> dict[int, Camera]:
    cams: dict[int, Camera] = {}
    with open(path, "rb") as f:
        r = _Reader(f, path)
        (n,) = r.read("Q")
        for _ in range(int(n)):  # type: ignore[call-overload]
            cid, mid, w, h = r.read("iiQQ")
            if mid not in CAMERA_MODELS:
                raise ColmapError(f"{path}: unknown camera model id {mid}")
            name, npar = CAMERA_MODELS[int(mid)]
            params = np.array(r.read("d" * npar), dtype=np.float64)
            cams[int(cid)] = Camera(int(cid), name, int(w), int(h), params)  # type: ignore[call-overload]
    return cams


def read_images(path: Path) -> dict[int, Image]:
    imgs: dict[int, Image] = {}
    with open(path, "rb") as f:
        r = _Reader(f, path)
        (n,) = r.read("Q")
        for _ in range(int(n)):  # type: ignore[call-overload]
            vals = r.read("idddddddi")
            iid = int(vals[0])  # type: ignore[call-overload]
            q = np.array(vals[1:5], dtype=np.float64)
            t = np.array(vals[5:8], dtype=np.float64)
            cid = int(vals[8])  # type: ignore[call-overload]
            name = bytearray()
            while True:
                c = f.read(1)
                if not c:
                    raise ColmapError(f"{path} is truncated")
                if c == b"\x00":
                    break
                name += c
            (npts,) = r.read("Q")
            r.read_array("u1", int(npts) * 24)  # type: ignore[call-overload]  # x, y (double), point3D_id (int64)
            imgs[iid] = Image(iid, q, t, cid, name.decode("utf-8"))
    return imgs


def read_points(path: Path) -> Points:
    xyz: list[tuple[float, float, float]] = []
    rgb: list[tuple[int, int, int]] = []
    err: list[float] = []
    with open(path, "rb") as f:
        r = _Reader(f, path)
        (n,) = r.read("Q")
        for _ in range(int(n)):  # type: ignore[call-overload]
            vals = r.read("QdddBBBd")
            xyz.append(vals[1:4])  # type: ignore[arg-type]
            rgb.append(vals[4:7])  # type: ignore[arg-type]
            err.append(vals[7])  # type: ignore[arg-type]
            (tl,) = r.read("Q")
            r.read_array("u1", int(tl) * 8)  # type: ignore[call-overload]
    return Points(
        np.array(xyz, dtype=np.float64).reshape(-1, 3),
        np.array(rgb, dtype=np.uint8).reshape(-1, 3),
        np.array(err, dtype=np.float64),
    )


def read_model(sparse_dir: Path) -> Model:
    for f in ("cameras.bin", "images.bin", "points3D.bin"):
        if not (sparse_dir / f).is_file():
            raise ColmapError(f"the SfM model has no {f} in {sparse_dir}")
    return Model(
        read_cameras(sparse_dir / "cameras.bin"),
        read_images(sparse_dir / "images.bin"),
        read_points(sparse_dir / "points3D.bin"),
    )


def write_model(sparse_dir: Path, model: Model) -> None:
    """Writes a COLMAP binary model (tracks and 2D points left empty). Used by tests/tools."""
    sparse_dir.mkdir(parents=True, exist_ok=True)
    with open(sparse_dir / "cameras.bin", "wb") as f:
        f.write(struct.pack("<Q", len(model.cameras)))
        for c in model.cameras.values():
            f.write(struct.pack("<iiQQ", c.id, MODEL_IDS[c.model], c.width, c.height))
            f.write(struct.pack("<" + "d" * len(c.params), *c.params))
    with open(sparse_dir / "images.bin", "wb") as f:
        f.write(struct.pack("<Q", len(model.images)))
        for im in model.images.values():
            f.write(struct.pack("<idddddddi", im.id, *im.qvec, *im.tvec, im.camera_id))
            f.write(im.name.encode("utf-8") + b"\x00")
            f.write(struct.pack("<Q", 0))
    with open(sparse_dir / "points3D.bin", "wb") as f:
        p = model.points
        f.write(struct.pack("<Q", len(p.xyz)))
        for i in range(len(p.xyz)):
            f.write(struct.pack("<QdddBBBd", i + 1, *p.xyz[i], *(int(v) for v in p.rgb[i]), float(p.error[i])))
            f.write(struct.pack("<Q", 0))
