"""The stage, end to end: options, photos, reconstruction, report; failures become a plain reason."""

from __future__ import annotations

import json
import shutil
import traceback
from pathlib import Path
from typing import Any

import pycolmap

from stage_contract import opt_ml, write_failure

from .config import Config, choose_working_size, load_config
from .errors import StageError
from .georef import Assessment, GeoFigures, assess
from .monitor import StepMonitor, progress
from .photos import Ingested, Photo, ingest
from .reconstruct import choose_matching, extract_features, georeference, make_upright, map_photos, match, undistort


def _placed_failure(placed: int, usable: int) -> str:
    return (
        f"Only {placed} of {usable} photos could be placed in the 3D model. Photos need to overlap: "
        "fly with at least 70% forward and 60% side overlap, keep the camera settings fixed, "
        "and avoid blurred or very dark shots."
    )


def _georeference_into(report: dict[str, Any], model: pycolmap.Reconstruction, photos: list[Photo], config: Config) -> Assessment:
    """Aligns the model to the photos' GPS (or makes it upright without GPS), puts the fit in
    the report's `gps`, and returns the quality gate's verdict on the frame."""
    geo = georeference(model, photos, config)
    if geo is None:
        report["gps"] = None
        return assess(None, config, no_gps_frame=make_upright(model))
    report["gps"] = {
        "origin": {"lat": geo.origin[0], "lon": geo.origin[1], "alt": geo.origin[2]},
        "residual_m": round(geo.residual_m, 3),
        "max_residual_m": round(geo.max_residual_m, 3),
        "photos_used": geo.photos_used,
        "method": geo.method,
    }
    return assess(GeoFigures(geo.residual_m, geo.extent_m, geo.gps_accuracy_m), config, no_gps_frame="")


def run(config: Config) -> dict[str, Any]:
    """Run the stage; returns the report (also written to output/report.json)."""
    work = config.work_dir
    out = config.output_dir
    config.log_dir.mkdir(parents=True, exist_ok=True)
    pycolmap.logging.log_dir = str(config.log_dir)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    out.mkdir(parents=True, exist_ok=True)
    monitor = StepMonitor()
    # `warnings` (code + message) is the stages' shared channel for "succeeded, but": later
    # stages carry it to the delivery's report, the job's status and the email.
    warnings: list[dict[str, str]] = []
    report: dict[str, Any] = {"stage": "sfm", "status": "running", "colmap": f"pycolmap {pycolmap.__version__}", "warnings": warnings}
    ingested = Ingested()
    try:
        with monitor.step("ingest", 0):
            ingest(config, work / "images", work / "extracted", ingested)
            shutil.rmtree(work / "extracted", ignore_errors=True)
        photos = ingested.photos
        usable = len(photos)
        working = choose_working_size(config, [max(p.width, p.height) for p in photos])
        matching = choose_matching(config, photos)
        report.update(
            photos_received=ingested.received,
            photos_usable=usable,
            working_resolution=working,
            max_features=config.max_features,
            matching=matching,
        )
        database = work / "database.db"
        with monitor.step("features", 10):
            extract_features(database, work / "images", photos, working, config)
        with monitor.step("matching", 35):
            report["pairs_matched"] = match(database, work, photos, matching, config)
        with monitor.step("mapping", 60):
            mapped = map_photos(database, work / "images", work, usable, config)
        report["mapper"] = mapped.mapper
        report["mappers_tried"] = mapped.tried
        model = mapped.model
        placed = model.num_reg_images() if model is not None else 0
        report["photos_placed"] = placed
        placed_names = {im.name for im in model.images.values() if im.has_pose} if model is not None else set()
        report["not_placed"] = sorted(p.name for p in photos if p.name not in placed_names)
        if model is None or placed < max(3, config.min_placed_share * usable):
            raise StageError(_placed_failure(placed, usable))
        with monitor.step("georeference", 88):
            assessed = _georeference_into(report, model, photos, config)
            report["frame"] = assessed.frame
            report["georeference"] = assessed.georeference
            warnings.extend(assessed.warnings)
            report["mean_reprojection_error_px"] = round(float(model.compute_mean_reprojection_error()), 4)
            report["points"] = int(model.num_points3D())
            report["mean_track_length"] = round(float(model.compute_mean_track_length()), 3)
            model_dir = work / "model"
            model_dir.mkdir()
            model.write(model_dir)
        with monitor.step("undistort", 92):
            undistort(model_dir, work / "images", out, config.max_image_size)
        report["status"] = "succeeded"
        progress(100, "done")
    except StageError as err:
        report["status"] = "failed"
        report["failure"] = err.reason
        raise
    except BaseException as exc:
        report["status"] = "failed"
        report["failure"] = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        _write_report(report, ingested, monitor, out)
        if not config.keep_work:
            shutil.rmtree(work, ignore_errors=True)
    return report


def _write_report(report: dict[str, Any], ingested: Ingested, monitor: StepMonitor, out: Path) -> None:
    """report.json, whatever the outcome: skipped photos, time, CPU and peak memory per step."""
    report["skipped"] = [{"name": n, "reason": r} for n, r in ingested.skipped]
    report["timings_s"] = dict(monitor.timings_s, total=round(sum(monitor.timings_s.values()), 2))
    report["cpu_s"] = dict(monitor.cpu_s, total=round(sum(monitor.cpu_s.values()), 2))
    report["peak_memory_mb"] = dict(monitor.peak_memory_mb, overall=monitor.overall_peak_mb())
    monitor.close()
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    del argv
    root = opt_ml()
    try:
        run(load_config())
        return 0
    except StageError as err:
        reason = err.reason
    except MemoryError:
        reason = "The reconstruction ran out of memory; lower SFM_MAX_IMAGE_SIZE or SFM_MAX_FEATURES, or use a larger instance."
    except Exception as exc:  # noqa: BLE001 - every failure must reach the failure file
        traceback.print_exc()
        reason = f"The SfM stage failed unexpectedly ({type(exc).__name__}: {exc})."
    write_failure(root, reason)
    return 1
