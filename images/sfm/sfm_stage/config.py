"""Stage options, read from environment variables (SageMaker passes them as `Environment`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from .errors import StageError

MATCHING_CHOICES = ("auto", "spatial", "exhaustive", "sequential")
MAPPER_CHOICES = ("auto", "global", "incremental")


@dataclass(frozen=True)
class Config:
    opt_ml: Path
    max_image_size: int = 1600
    working_size: int = 0  # 0: chosen from the input (see choose_working_size)
    max_features: int = 4096
    max_files: int = 5000
    max_uncompressed_bytes: int = 20 * 1024**3
    max_compression_ratio: float = 100.0
    max_image_pixels: int = 120_000_000
    min_photos: int = 3
    min_placed_share: float = 0.6
    matching: str = "auto"
    spatial_neighbors: int = 8
    exhaustive_max_photos: int = 30
    mapper: str = "auto"
    gps_max_error_m: float = 10.0
    geo_max_residual_share: float = 0.05  # GPS-fit RMS residual allowed, as a share of the site's extent
    geo_accuracy_factor: float = 3.0  # ... and as a multiple of the GPS accuracy stated in EXIF
    geo_min_residual_m: float = 1.0  # ... but never below this (receivers' own accuracy figures are optimistic)
    num_threads: int = -1
    keep_work: bool = False

    @property
    def input_dir(self) -> Path:
        return self.opt_ml / "processing" / "input" / "photos"

    @property
    def output_dir(self) -> Path:
        return self.opt_ml / "processing" / "output" / "sfm"

    @property
    def work_dir(self) -> Path:
        return self.opt_ml / "processing" / "work" / "sfm"

    @property
    def log_dir(self) -> Path:
        """COLMAP's own log files (glog): kept with the job, never in the system's temp folder."""
        return self.opt_ml / "logs" / "colmap"

    @property
    def failure_dir(self) -> Path:
        return self.opt_ml / "output"


def _int(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise StageError(f"{name}={raw!r} is not a whole number.") from None
    if value < minimum:
        raise StageError(f"{name}={raw!r} must be at least {minimum}.")
    return value


def _float(env: Mapping[str, str], name: str, default: float, lo: float, hi: float) -> float:
    raw = env.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise StageError(f"{name}={raw!r} is not a number.") from None
    if not lo <= value <= hi:
        raise StageError(f"{name}={raw!r} must be between {lo:g} and {hi:g}.")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw not in choices:
        raise StageError(f"{name}={raw!r} is not one of {', '.join(choices)}.")
    return raw


def _bool(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise StageError(f"{name}={raw!r} must be 1 or 0.")


def load_config(env: Mapping[str, str] | None = None) -> Config:
    """Read and validate every option; an invalid value raises StageError naming the variable."""
    e = os.environ if env is None else env
    working = e.get("SFM_WORKING_SIZE", "").strip().lower()
    return Config(
        opt_ml=Path(e.get("SPACEPORT_OPT_ML", "") or "/opt/ml"),
        max_image_size=_int(e, "SFM_MAX_IMAGE_SIZE", 1600, 64),
        working_size=0 if working in ("", "auto") else _int(e, "SFM_WORKING_SIZE", 0, 64),
        max_features=_int(e, "SFM_MAX_FEATURES", 4096, 100),
        max_files=_int(e, "SFM_MAX_FILES", 5000, 1),
        max_uncompressed_bytes=_int(e, "SFM_MAX_UNCOMPRESSED_BYTES", 20 * 1024**3, 1),
        max_compression_ratio=_float(e, "SFM_MAX_COMPRESSION_RATIO", 100.0, 1.0, 1e6),
        max_image_pixels=_int(e, "SFM_MAX_IMAGE_PIXELS", 120_000_000, 1),
        min_photos=_int(e, "SFM_MIN_PHOTOS", 3, 2),
        min_placed_share=_float(e, "SFM_MIN_PLACED_SHARE", 0.6, 0.0, 1.0),
        matching=_choice(e, "SFM_MATCHING", "auto", MATCHING_CHOICES),
        spatial_neighbors=_int(e, "SFM_SPATIAL_NEIGHBORS", 8, 2),
        exhaustive_max_photos=_int(e, "SFM_EXHAUSTIVE_MAX_PHOTOS", 30, 2),
        mapper=_choice(e, "SFM_MAPPER", "auto", MAPPER_CHOICES),
        gps_max_error_m=_float(e, "SFM_GPS_MAX_ERROR_M", 10.0, 0.01, 1e6),
        geo_max_residual_share=_float(e, "SFM_GEO_MAX_RESIDUAL_SHARE", 0.05, 0.0, 10.0),
        geo_accuracy_factor=_float(e, "SFM_GEO_ACCURACY_FACTOR", 3.0, 0.0, 1e3),
        geo_min_residual_m=_float(e, "SFM_GEO_MIN_RESIDUAL_M", 1.0, 0.0, 1e6),
        # -1: all cores COLMAP sees; SPACEPORT_CPUS is the share the local runtime grants.
        num_threads=_int(e, "SFM_NUM_THREADS", _int(e, "SPACEPORT_CPUS", -1, 1), -1),
        keep_work=_bool(e, "SFM_KEEP_WORK"),
    )


def choose_working_size(config: Config, longest_sides: list[int]) -> int:
    """Feature-extraction resolution: the configured one, else 1024 px capped by the photos' size."""
    largest = max(longest_sides) if longest_sides else 0
    wanted = config.working_size or 1024
    return max(1, min(wanted, largest)) if largest else wanted
