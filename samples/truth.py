"""Reading a generated survey's `truth.json` (true intrinsics and camera poses)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from .geo import GeoOrigin

FORMAT = "spaceport-sample-survey/1"


@dataclass(frozen=True)
class TruthImage:
    name: str
    leg: str
    center: NDArray[np.float64]  # ENU metres
    rotation: NDArray[np.float64]  # camera-to-world (OpenCV camera: x right, y down, z forward)
    gps_enu: NDArray[np.float64]  # the position written to EXIF (= center unless generated with GPS noise)
    lat: float
    lon: float
    alt: float


@dataclass(frozen=True)
class Truth:
    origin: GeoOrigin
    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    images: list[TruthImage]
    scene_extent: float

    def centers(self) -> dict[str, NDArray[np.float64]]:
        return {im.name: im.center for im in self.images}


def load_truth(path: Path | str) -> Truth:
    p = Path(path)
    if p.is_dir():
        p = p / "truth.json"
    data = json.loads(p.read_text())
    if data.get("format") != FORMAT:
        raise ValueError(f"{p}: not a sample survey truth file (format {data.get('format')!r}, expected {FORMAT!r})")
    o, k = data["geo_origin"], data["intrinsics"]
    images = [
        TruthImage(im["name"], im["leg"], np.array(im["center_enu"], float), np.array(im["R_cam_to_world"], float),
                   np.array(im.get("gps_enu", im["center_enu"]), float), im["lat"], im["lon"], im["alt"])
        for im in data["images"]
    ]
    return Truth(GeoOrigin(o["lat"], o["lon"], o["alt"]), k["width"], k["height"], k["fx"], k["fy"], k["cx"], k["cy"],
                 images, float(data["scene"]["extent_m"]))
