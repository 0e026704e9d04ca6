"""How far the model's georeference can be trusted: the quality gate after the GPS fit.

A similarity fitted to GPS always yields a frame called east-north-up; whether distances in it
are metres depends on how well the photos' GPS positions agree with the reconstructed cameras.
When the fit's RMS residual is large against the site's extent (or far above the GPS accuracy
the photos' EXIF states), the model is flagged as not reliably metric, with the figures, and
the stage emits a warning that later stages carry to the job's status and email.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from .config import Config

FRAME_ENU = "metric east-north-up (x east, y north, z up), origin at the site centre on the ground"


@dataclass(frozen=True)
class GeoFigures:
    """What the GPS fit measured (from `reconstruct.georeference`)."""

    rms_m: float  # RMS distance between fitted camera centres and their GPS positions
    extent_m: float  # diagonal of the horizontal box around the photos' GPS positions
    gps_accuracy_m: float | None  # median horizontal accuracy stated in EXIF, when the photos state one


@dataclass(frozen=True)
class Assessment:
    georeference: dict[str, Any]  # the report's `georeference` block
    frame: str  # the report's human-readable `frame`
    warnings: list[dict[str, str]]  # `{"code", "message"}` entries for the report's `warnings`


def median_accuracy(accuracies: list[float | None]) -> float | None:
    known = [a for a in accuracies if a is not None and a > 0]
    return float(statistics.median(known)) if known else None


def residual_limit_m(figures: GeoFigures, config: Config) -> float:
    """Largest RMS residual that still counts as metric: a share of the site's extent, and no
    more than a multiple of the stated GPS accuracy (with a floor, since a receiver's own
    estimate is often optimistic)."""
    limit = config.geo_max_residual_share * figures.extent_m
    if figures.gps_accuracy_m is not None:
        limit = min(limit, max(config.geo_accuracy_factor * figures.gps_accuracy_m, config.geo_min_residual_m))
    return limit


def assess(figures: GeoFigures | None, config: Config, no_gps_frame: str) -> Assessment:
    """The report's georeference block, frame text and warnings for a fit (None: no usable GPS)."""
    if figures is None:
        message = (
            "The photos carry no usable GPS, so the model's scale and orientation are estimated: "
            "distances measured in it are not in metres."
        )
        block: dict[str, Any] = {"frame": "arbitrary", "metric": False, "rms_m": None, "extent_m": None, "reason": "no usable GPS"}
        return Assessment(block, no_gps_frame, [{"code": "not-georeferenced", "message": message}])
    limit = residual_limit_m(figures, config)
    metric = figures.rms_m <= limit
    block = {
        "frame": "enu",
        "metric": metric,
        "rms_m": round(figures.rms_m, 3),
        "extent_m": round(figures.extent_m, 1),
        "limit_m": round(limit, 3),
        "gps_accuracy_m": None if figures.gps_accuracy_m is None else round(figures.gps_accuracy_m, 3),
    }
    if metric:
        return Assessment(block, FRAME_ENU, [])
    against = (
        f"{100 * figures.rms_m / figures.extent_m:.0f}% of the site's {figures.extent_m:.0f} m extent"
        if figures.extent_m > 0
        else "the site's extent"
    )
    if figures.gps_accuracy_m is not None:
        against += f"; the photos state {round(figures.gps_accuracy_m, 2):g} m GPS accuracy"
    reason = f"the photos' GPS positions disagree with the reconstructed cameras by {figures.rms_m:.1f} m RMS ({against})"
    block["reason"] = reason
    message = (
        f"The model is not reliably metric: {reason}, more than the {limit:.1f} m allowed. "
        "Distances and heights measured in it may be wrong; check the drone's GPS (or RTK) settings and the photos' EXIF."
    )
    frame = f"east-north-up fitted to GPS, NOT reliably metric ({reason})"
    return Assessment(block, frame, [{"code": "georeference-not-metric", "message": message}])
