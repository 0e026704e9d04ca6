"""Generate the sample drone survey: `python -m samples.survey --out DIR [options]`.

Writes DIR/photos/DJI_0001.JPG... (EXIF GPS, camera and time like a DJI drone's, DJI XMP),
DIR/truth.json (geographic origin, intrinsics, every camera's true pose) and DIR/survey.zip (the
photos). Everything is a pure function of the options: the same seed gives the same bytes.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image

from . import exif
from .flight import FlightConfig, Pattern, Shot, plan
from .geo import GeoOrigin, enu_to_geodetic
from .render import Camera, Intrinsics, render_linear, to_srgb8
from .scene import Scene, SceneConfig, build_scene
from .truth import FORMAT

DEFAULT_ORIGIN = GeoOrigin(lat=45.5231, lon=-122.6765, alt=60.0)
START_TIME = datetime(2024, 5, 18, 10, 30, 0)
SECONDS_PER_SHOT = 3


@dataclass(frozen=True)
class SurveyConfig:
    seed: int = 0
    count: int = 36
    width: int = 800
    height: int = 600
    pattern: Pattern = "both"
    supersample: int = 1
    jpeg_quality: int = 92
    noise: float = 1.0  # sensor noise, standard deviation in 8-bit steps
    gps_noise: float = 0.0  # metres (standard deviation per axis) added to the EXIF GPS, as a consumer GNSS
    # exposure changes between photos (auto exposure): standard deviation in stops, within +-2 stops;
    # each photo's pixels and its EXIF shutter time change together
    exposure_stops: float = 0.0
    texture_contrast: float = 1.0  # < 1: low-texture survey (albedo pulled toward each surface's mean)
    texture_repeat: int = 0  # n > 1: the ground is one patch repeated n x n times (repeated patterns)
    origin: GeoOrigin = DEFAULT_ORIGIN
    flight: FlightConfig = field(default_factory=FlightConfig)

    def __post_init__(self) -> None:
        if self.width < 16 or self.height < 16:
            raise ValueError(f"image size must be at least 16x16, got {self.width}x{self.height}")
        if self.count < 1 or self.count > 9999:
            raise ValueError(f"count must be 1..9999, got {self.count}")
        if self.pattern not in ("orbit", "grid", "both", "ground"):
            raise ValueError(f"pattern must be orbit, grid, both or ground, got {self.pattern!r}")
        if not 0.0 <= self.gps_noise <= 100.0:
            raise ValueError(f"gps noise must be 0..100 metres, got {self.gps_noise}")
        if not 0.0 < self.texture_contrast <= 1.0:
            raise ValueError(f"texture contrast must be in (0, 1], got {self.texture_contrast}")
        if not 0 <= self.texture_repeat <= 64:
            raise ValueError(f"texture repeat must be 0..64, got {self.texture_repeat}")
        if not 0.0 <= self.exposure_stops <= 2.0:
            raise ValueError(f"exposure change must be 0..2 stops, got {self.exposure_stops}")
        if self.supersample < 1 or self.supersample > 4:
            raise ValueError(f"supersample must be 1..4, got {self.supersample}")


def intrinsics(width: int, height: int) -> Intrinsics:
    """The FC6310's 8.8 mm lens over a 13.2 mm wide sensor, scaled to the image width."""
    f = exif.FOCAL_MM / exif.SENSOR_WIDTH_MM * width
    return Intrinsics(width, height, f, f, width / 2.0, height / 2.0)


def scene_config(cfg: SurveyConfig) -> SceneConfig:
    """Texture detail follows the image resolution: about one texel per pixel at the site."""
    texel = min(max(0.025 * 800.0 / cfg.width, 0.02), 0.4)
    return SceneConfig(seed=cfg.seed, texel=texel, texture_contrast=cfg.texture_contrast, texture_repeat=cfg.texture_repeat)


def photo_name(i: int) -> str:
    return f"DJI_{i + 1:04d}.JPG"


def _scene_box(scene: Scene) -> tuple[list[float], list[float]]:
    pts = np.concatenate([s.vertices for s in scene.surfaces if not s.ground])
    return pts.min(0).tolist(), pts.max(0).tolist()


def _shot_record(name: str, shot: Shot, gps_enu: np.ndarray, geodetic: tuple[float, float, float],
                 heading_pitch: tuple[float, float], taken: datetime, stops: float) -> dict[str, Any]:
    """One photo's entry in truth.json: its true pose, its GPS as written to EXIF, its exposure."""
    r_wc = shot.rotation.T
    lat, lon, alt = geodetic
    return {
        "name": name,
        "leg": shot.leg,
        "center_enu": [round(float(c), 6) for c in shot.center],
        "R_cam_to_world": [[round(float(x), 9) for x in row] for row in shot.rotation],
        "R_world_to_cam": [[round(float(x), 9) for x in row] for row in r_wc],
        "t_world_to_cam": [round(float(x), 6) for x in (-r_wc @ shot.center)],
        "gps_enu": [round(float(c), 6) for c in gps_enu],
        "lat": lat, "lon": lon, "alt": alt,
        "heading_deg": round(heading_pitch[0], 4), "pitch_deg": round(heading_pitch[1], 4),
        "time": taken.isoformat(),
        "exposure_stops": round(stops, 4),
    }


def generate(out: Path, cfg: SurveyConfig = SurveyConfig(), log: Callable[[str], None] = print, force: bool = False) -> Path:
    """Render the survey into `out`; returns the path of truth.json."""
    photos = out / "photos"
    existing = [p for p in (photos, out / "truth.json", out / "survey.zip") if p.exists()]
    if existing and not force:
        raise FileExistsError(f"{out} already holds a survey ({existing[0].name}); choose another --out or pass --force")
    if force:
        for p in sorted(photos.glob("DJI_*.JPG")) if photos.is_dir() else []:
            p.unlink()
    photos.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    log("progress: 0.0% building the scene")
    scene = build_scene(scene_config(cfg))
    t_scene = time.perf_counter() - t0
    log(f"scene: {len(scene.surfaces)} surfaces, {len(scene.texels) / 1e6:.1f} M texels, built in {t_scene:.1f} s")
    k = intrinsics(cfg.width, cfg.height)
    shots = plan(cfg.count, cfg.pattern, cfg.seed, cfg.flight)
    records = []
    render_times = []
    gps_rng = np.random.default_rng([cfg.seed, 15485863])
    exposure_rng = np.random.default_rng([cfg.seed, 32452843])
    for i, shot in enumerate(shots):
        t1 = time.perf_counter()
        cam = Camera(shot.center, shot.rotation, k)
        stops = float(np.clip(exposure_rng.normal(0.0, cfg.exposure_stops), -2.0, 2.0)) if cfg.exposure_stops > 0 else 0.0
        img = to_srgb8(render_linear(scene, cam, cfg.supersample), np.random.default_rng([cfg.seed, 104729, i]),
                       exposure=2.0**stops, noise=cfg.noise)
        gps_enu = shot.center + (gps_rng.normal(0.0, cfg.gps_noise, 3) if cfg.gps_noise > 0 else 0.0)
        lat, lon, alt = enu_to_geodetic(cfg.origin, gps_enu)
        heading, pitch = exif.heading_pitch(tuple(shot.rotation[:, 2]))
        taken = START_TIME + timedelta(seconds=SECONDS_PER_SHOT * i)
        meta = exif.PhotoMeta(cfg.width, cfg.height, lat, lon, alt, float(gps_enu[2]), taken, heading, pitch, heading,
                              exposure_time_s=2.0**stops / 800)
        name = photo_name(i)
        buf = io.BytesIO()
        if cfg.pattern == "ground":  # a hand-held camera without GPS: no GPS block, no drone XMP
            Image.fromarray(img).save(buf, "JPEG", quality=cfg.jpeg_quality, exif=exif.build_exif(meta, with_gps=False))
        else:
            Image.fromarray(img).save(buf, "JPEG", quality=cfg.jpeg_quality, exif=exif.build_exif(meta), xmp=exif.build_xmp(meta))
        (photos / name).write_bytes(buf.getvalue())
        dt = time.perf_counter() - t1
        render_times.append(dt)
        log(f"progress: {100.0 * (i + 1) / len(shots):.1f}% rendered {name} ({shot.leg}, {dt:.2f} s)")
        records.append(_shot_record(name, shot, gps_enu, (lat, lon, alt), (heading, pitch), taken, stops))
    lo, hi = _scene_box(scene)
    centers = np.array([r["center_enu"] for r in records])
    truth = {
        "format": FORMAT,
        "generator": {"seed": cfg.seed, "count": cfg.count, "pattern": cfg.pattern, "supersample": cfg.supersample,
                      "jpeg_quality": cfg.jpeg_quality, "noise": cfg.noise, "gps_noise_m": cfg.gps_noise,
                      "exif_gps": cfg.pattern != "ground",
                      "exposure_stops": cfg.exposure_stops, "texture_contrast": cfg.texture_contrast,
                      "texture_repeat": cfg.texture_repeat},
        "frame": "ENU metres about geo_origin (x east, y north, z up); WGS84 exact conversion; ground at z = 0",
        "geo_origin": {"lat": cfg.origin.lat, "lon": cfg.origin.lon, "alt": cfg.origin.alt},
        "camera_convention": "OpenCV/COLMAP: x right, y down, z forward; pixel (0,0) centre at (0.5, 0.5); no distortion",
        "intrinsics": {"model": "PINHOLE", "width": k.width, "height": k.height, "fx": k.fx, "fy": k.fy, "cx": k.cx, "cy": k.cy},
        "exif": {"make": exif.MAKE, "model": exif.MODEL, "focal_length_mm": exif.FOCAL_MM, "focal_length_35mm": exif.FOCAL_35MM,
                 "sensor_width_mm": exif.SENSOR_WIDTH_MM},
        "scene": {"bbox_min": lo, "bbox_max": hi,
                  "extent_m": float(np.linalg.norm(centers.max(0) - centers.min(0))) if len(centers) > 1 else 0.0,
                  "extent_definition": "diagonal of the bounding box of the true camera centres",
                  "sun_direction": scene.sun.tolist()},
        "images": records,
    }
    truth_path = out / "truth.json"
    truth_path.write_text(json.dumps(truth, indent=1) + "\n")
    with zipfile.ZipFile(out / "survey.zip", "w", compression=zipfile.ZIP_STORED) as zf:
        for i in range(len(records)):
            info = zipfile.ZipInfo(photo_name(i), date_time=START_TIME.timetuple()[:6])
            zf.writestr(info, (photos / photo_name(i)).read_bytes())
    total = time.perf_counter() - t0
    log(f"done: {len(records)} photos {cfg.width}x{cfg.height} in {out}; scene {t_scene:.1f} s, "
        f"render {np.mean(render_times):.2f} s/photo (max {np.max(render_times):.2f} s), total {total:.1f} s")
    return truth_path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m samples.survey", description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--out", required=True, type=Path, help="output folder")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--count", type=int, default=36, help="number of photos (default 36)")
    ap.add_argument("--width", type=int, default=800)
    ap.add_argument("--height", type=int, default=600)
    ap.add_argument("--pattern", choices=["orbit", "grid", "both", "ground"], default="both",
                    help="flight: an orbit, an oblique grid, or both (2/3 orbit, 1/3 grid); ground: "
                         "a walk around the house at eye height, no GPS")
    ap.add_argument("--supersample", type=int, default=1, help="rays per pixel along each axis (anti-aliasing)")
    ap.add_argument("--quality", type=int, default=92, help="JPEG quality")
    ap.add_argument("--gps-noise", type=float, default=0.0, help="metres of GNSS error in the EXIF GPS (default 0: exact)")
    ap.add_argument("--exposure-change", type=float, default=0.0, metavar="STOPS",
                    help="exposure changes between photos, standard deviation in stops (0..2; default 0)")
    ap.add_argument("--texture-contrast", type=float, default=1.0, metavar="C",
                    help="low-texture survey: scale each surface's texture contrast by C in (0, 1] (default 1)")
    ap.add_argument("--texture-repeat", type=int, default=0, metavar="N",
                    help="repeated patterns: the ground is one patch tiled N x N times (default 0: off)")
    ap.add_argument("--force", action="store_true", help="overwrite a survey already in --out")
    a = ap.parse_args(argv)
    try:
        cfg = SurveyConfig(seed=a.seed, count=a.count, width=a.width, height=a.height, pattern=a.pattern,
                           supersample=a.supersample, jpeg_quality=a.quality, gps_noise=a.gps_noise,
                           exposure_stops=a.exposure_change, texture_contrast=a.texture_contrast,
                           texture_repeat=a.texture_repeat)
        generate(a.out, cfg, log=lambda s: print(s, flush=True), force=a.force)
    except (ValueError, FileExistsError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
