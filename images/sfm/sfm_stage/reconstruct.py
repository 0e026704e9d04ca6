"""COLMAP steps through pycolmap: features, matching, mapping, geo-alignment, undistortion."""

from __future__ import annotations

import shutil
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pycolmap

from .config import Config
from .errors import StageError
from .geo import sim3d, umeyama, wgs84_to_enu
from .georef import median_accuracy
from .photos import Photo


def extract_features(database: Path, images_dir: Path, photos: list[Photo], working_size: int, config: Config) -> None:
    """SIFT on all cores at the working resolution; one shared camera per EXIF camera group."""
    options = pycolmap.FeatureExtractionOptions()
    options.max_image_size = working_size
    options.num_threads = config.num_threads
    options.sift.max_num_features = config.max_features
    # COLMAP doubles the image before the first octave by default (first_octave=-1): 4x the pixels
    # for the finest, least repeatable features. Starting at the working resolution is ~3x faster
    # and, on drone surveys, places the same photos (see bench.py).
    options.sift.first_octave = 0
    groups: dict[str, list[Photo]] = defaultdict(list)
    for photo in photos:
        groups[photo.camera_key].append(photo)
    for members in groups.values():
        first = members[0]
        reader = pycolmap.ImageReaderOptions()
        reader.camera_model = "SIMPLE_RADIAL"
        if first.focal_px:
            reader.camera_params = f"{first.focal_px:.3f},{first.width / 2:.3f},{first.height / 2:.3f},0"
        pycolmap.extract_features(
            database,
            images_dir,
            image_names=[p.name for p in members],
            camera_mode=pycolmap.CameraMode.SINGLE,
            reader_options=reader,
            extraction_options=options,
            device=pycolmap.Device.cpu,
        )


def choose_matching(config: Config, photos: list[Photo]) -> str:
    """auto: GPS neighbours when every photo has GPS and the set is not small; else exhaustive or sequential."""
    if config.matching != "auto":
        return config.matching
    all_gps = all(p.gps is not None for p in photos)
    if len(photos) <= config.exhaustive_max_photos and not (all_gps and len(photos) > 2 * config.spatial_neighbors):
        return "exhaustive"
    if all_gps:
        return "spatial"
    return "sequential"


def spatial_pairs(photos: list[Photo], neighbors: int) -> list[tuple[str, str]]:
    """Each photo with its `neighbors` nearest photos by horizontal GPS distance (symmetric, unique)."""
    located = [p for p in photos if p.gps is not None]
    if len(located) < len(photos):
        missing = ", ".join(p.name for p in photos if p.gps is None)[:300]
        raise StageError(f"SFM_MATCHING=spatial needs GPS in every photo, but these have none: {missing}.")
    lla = np.array([p.gps for p in located], dtype=np.float64)
    enu = wgs84_to_enu(lla, (float(lla[:, 0].mean()), float(lla[:, 1].mean()), float(lla[:, 2].mean())))[:, :2]
    dist = np.linalg.norm(enu[:, None, :] - enu[None, :, :], axis=2)
    np.fill_diagonal(dist, np.inf)
    pairs: set[tuple[int, int]] = set()
    k = min(neighbors, len(located) - 1)
    for i in range(len(located)):
        for j in np.argsort(dist[i], kind="stable")[:k]:
            pairs.add((min(i, int(j)), max(i, int(j))))
    return [(located[i].name, located[j].name) for i, j in sorted(pairs)]


def match(database: Path, work: Path, photos: list[Photo], method: str, config: Config) -> int:
    """Match and verify pairs; returns the number of pairs tried."""
    options = pycolmap.FeatureMatchingOptions()
    options.num_threads = config.num_threads
    cpu = pycolmap.Device.cpu
    n = len(photos)
    if method == "spatial":
        pairs = spatial_pairs(photos, config.spatial_neighbors)
        pair_file = work / "pairs.txt"
        pair_file.write_text("".join(f"{a} {b}\n" for a, b in pairs))
        pycolmap.match_image_pairs(
            database, matching_options=options, pairing_options=pycolmap.ImportedPairingOptions(match_list_path=str(pair_file)), device=cpu
        )
        return len(pairs)
    if method == "exhaustive":
        pycolmap.match_exhaustive(database, matching_options=options, device=cpu)
        return n * (n - 1) // 2
    sequential = pycolmap.SequentialPairingOptions()
    sequential.overlap = config.spatial_neighbors
    sequential.quadratic_overlap = False
    pycolmap.match_sequential(database, matching_options=options, pairing_options=sequential, device=cpu)
    return sum(min(config.spatial_neighbors, n - 1 - i) for i in range(n))


def _largest(models: dict[int, pycolmap.Reconstruction]) -> pycolmap.Reconstruction | None:
    if not models:
        return None
    return max(models.values(), key=lambda r: (r.num_reg_images(), r.num_points3D()))


def map_global(database: Path, images_dir: Path, out: Path, config: Config) -> pycolmap.Reconstruction | None:
    options = pycolmap.GlobalPipelineOptions()
    options.num_threads = config.num_threads
    options.random_seed = 0
    options.mapper.random_seed = 0
    options.mapper.num_threads = config.num_threads
    options.mapper.global_positioning.use_gpu = False
    options.mapper.bundle_adjustment.ceres.use_gpu = False
    out.mkdir(parents=True, exist_ok=True)
    try:
        return _largest(pycolmap.global_mapping(database, images_dir, out, options))
    except RuntimeError:
        return None


def map_incremental(database: Path, images_dir: Path, out: Path, config: Config) -> pycolmap.Reconstruction | None:
    options = pycolmap.IncrementalPipelineOptions()
    options.num_threads = config.num_threads
    options.random_seed = 0
    options.min_model_size = 3
    out.mkdir(parents=True, exist_ok=True)
    try:
        return _largest(pycolmap.incremental_mapping(database, images_dir, out, options))
    except RuntimeError:
        return None


@dataclass
class MapResult:
    model: pycolmap.Reconstruction | None
    mapper: str  # the mapper whose model is kept
    tried: list[str]


def map_photos(database: Path, images_dir: Path, work: Path, usable: int, config: Config) -> MapResult:
    """auto: the global mapper (fast), then the incremental one if some photos were left out."""
    pycolmap.set_random_seed(0)
    tried: list[str] = []
    best: pycolmap.Reconstruction | None = None
    best_name = "none"
    order = ["global", "incremental"] if config.mapper == "auto" else [config.mapper]
    for name in order:
        runner = map_global if name == "global" else map_incremental
        model = runner(database, images_dir, work / f"sparse-{name}", config)
        tried.append(name)
        if model is not None and (best is None or model.num_reg_images() > best.num_reg_images()):
            best, best_name = model, name
        if best is not None and best.num_reg_images() >= usable:
            break
    return MapResult(model=best, mapper=best_name, tried=tried)


@dataclass
class GeoResult:
    origin: tuple[float, float, float]
    residual_m: float
    max_residual_m: float
    photos_used: int
    method: str
    extent_m: float  # diagonal of the horizontal box around the GPS positions used
    gps_accuracy_m: float | None  # median accuracy the photos' EXIF states, if any


def georeference(model: pycolmap.Reconstruction, photos: list[Photo], config: Config) -> GeoResult | None:
    """Similarity to metric ENU (z up, origin at the site's centre, ground level) when GPS allows it."""
    by_name = {p.name: p for p in photos}
    names: list[str] = []
    centres: list[np.ndarray] = []
    lla: list[tuple[float, float, float]] = []
    accuracies: list[float | None] = []
    for image in model.images.values():
        photo = by_name.get(image.name)
        if image.has_pose and photo is not None and photo.gps is not None:
            names.append(image.name)
            centres.append(np.asarray(image.projection_center(), dtype=np.float64))
            lla.append(photo.gps)
            accuracies.append(photo.gps_accuracy_m)
    if len(names) < 3:
        return None
    lla_arr = np.array(lla, dtype=np.float64)
    origin = (float(lla_arr[:, 0].mean()), float(lla_arr[:, 1].mean()), float(lla_arr[:, 2].mean()))
    enu = wgs84_to_enu(lla_arr, origin)
    spread = float(np.linalg.norm(enu[:, :2] - enu[:, :2].mean(axis=0), axis=1).max())
    if spread < 1.0:
        return None  # all photos from (nearly) one spot: GPS cannot fix scale or heading
    # Least squares on every photo, then once more without outliers (GPS glitches, stale fixes).
    src = np.array(centres)
    scale, rot, trans = umeyama(src, enu)
    errors = np.linalg.norm((scale * (rot @ src.T)).T + trans - enu, axis=1)
    keep = errors <= max(3.0 * float(np.median(errors)), config.gps_max_error_m)
    method = "least-squares"
    if 3 <= int(keep.sum()) < len(keep):
        scale, rot, trans = umeyama(src[keep], enu[keep])
        method = f"least-squares without {int((~keep).sum())} outlier(s)"
    transform = sim3d(scale, rot, trans)
    model.transform(transform)
    # Put the origin on the ground: shift z so the median scene point sits at 0.
    if model.num_points3D() > 0:
        ground = float(np.median([p.xyz[2] for p in model.points3D.values()]))
        model.transform(pycolmap.Sim3d(np.hstack([np.eye(3), np.array([[0.0], [0.0], [-ground]])])))
        enu[:, 2] -= ground
        origin = (origin[0], origin[1], origin[2] + ground)
    aligned = np.array([model.find_image_with_name(n).projection_center() for n in names])
    errors = np.linalg.norm(aligned - enu, axis=1)
    return GeoResult(
        origin=origin,
        residual_m=float(np.sqrt((errors**2).mean())),
        max_residual_m=float(errors.max()),
        photos_used=len(names),
        method=method,
        extent_m=float(np.linalg.norm(enu[:, :2].max(axis=0) - enu[:, :2].min(axis=0))),
        gps_accuracy_m=median_accuracy(accuracies),
    )


def make_upright(model: pycolmap.Reconstruction) -> str:
    """Without GPS: centre the model and turn it so that z is up (best guess from the cameras).

    Drones fly at a steady height: when the camera centres spread over a flat patch, up is that
    plane's normal, on the side away from where the cameras look. Otherwise up is the mean
    viewing direction reversed (nadir shots) or the mean image up-vector (upright photos)."""
    images = [im for im in model.images.values() if im.has_pose]
    rots = np.array([im.cam_from_world().rotation.matrix() for im in images])
    centres = np.array([im.projection_center() for im in images])
    views = rots[:, 2, :].mean(axis=0)  # mean viewing direction (nadir surveys: down)
    image_up = -rots[:, 1, :].mean(axis=0)  # mean image "up" (hand-held, upright photos: up)
    hint, hint_name = (-views, "viewing direction") if np.linalg.norm(views) >= np.linalg.norm(image_up) else (image_up, "image up-vector")
    spread = np.linalg.svd(centres - centres.mean(axis=0), full_matrices=False)
    sv, axes = spread[1], spread[2]
    if len(images) >= 4 and sv[1] > 0.2 * sv[0] and sv[2] < 0.3 * sv[1]:
        up = axes[2] if float(axes[2] @ hint) >= 0 else -axes[2]
        how = f"plane of the camera positions (side from the mean {hint_name})"
    else:
        up, how = hint, f"mean {hint_name}"
    up = up / (np.linalg.norm(up) or 1.0)
    helper = np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    x = np.cross(helper, up)
    x /= np.linalg.norm(x)
    y = np.cross(up, x)
    rot = np.vstack([x, y, up])  # rows: new axes in old coordinates
    model.transform(sim3d(1.0, rot, -rot @ centres.mean(axis=0)))
    return f"no GPS: z up estimated from the {how}, origin at the camera centroid, arbitrary scale"


def undistort(model_dir: Path, images_dir: Path, out: Path, max_image_size: int) -> None:
    """Pinhole images and model for the trainer, laid out as sparse/0/*.bin and images/*."""
    options = pycolmap.UndistortCameraOptions()
    options.max_image_size = max_image_size
    tmp = out.parent / (out.name + ".undistorting")
    shutil.rmtree(tmp, ignore_errors=True)
    # COLMAP writes JPEG at quality 100 by default: 3x the bytes of the input and slower; 95 is
    # visually lossless for training.
    pycolmap.undistort_images(tmp, model_dir, images_dir, output_type="COLMAP", undistort_options=options, jpeg_quality=95)
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("images", "sparse"):
        shutil.rmtree(out / stale, ignore_errors=True)
    shutil.move(str(tmp / "images"), str(out / "images"))
    (out / "sparse" / "0").mkdir(parents=True)
    for item in (tmp / "sparse").iterdir():
        if item.is_file():
            shutil.move(str(item), str(out / "sparse" / "0" / item.name))
    shutil.rmtree(tmp, ignore_errors=True)
