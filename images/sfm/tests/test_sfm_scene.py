"""A generated drone survey with known cameras reconstructs with small position error.

Uses the project's sample-survey generator (samples/survey.py): 16 photos at 480x360 of a
textured site, EXIF GPS exact. Stated accuracy: every photo placed; camera centres within
0.5% of the scene extent (RMSE) after a similarity alignment; with GPS, within 0.5 m of the true
ENU positions with no fitting at all (the stage's own georeference), z up, origin on the ground.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any
from pathlib import Path

import numpy as np
import pycolmap
import pytest
from PIL import Image
from samples.alignment import align_cameras
from samples.survey import SurveyConfig, generate
from samples.truth import Truth, load_truth
from samples.geo import enu_to_geodetic
from sfm_stage.config import Config
from sfm_stage.geo import wgs84_to_enu
from sfm_stage.georef import GeoFigures, assess
from sfm_stage.photos import Photo
from sfm_stage.reconstruct import georeference
from sfm_testkit import make_job, run_stage


@pytest.fixture(scope="module")
def survey(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Truth]:
    out = tmp_path_factory.mktemp("survey")
    generate(out, SurveyConfig(seed=0, count=16, width=480, height=360), log=lambda _msg: None)
    return out, load_truth(out)


CONFIG = Config(opt_ml=Path("/nonexistent"))


def _model(job_output: Path) -> tuple[pycolmap.Reconstruction, dict[str, Any]]:
    report = json.loads((job_output / "report.json").read_text())
    return pycolmap.Reconstruction(job_output / "sparse" / "0"), report


@pytest.fixture(scope="module")
def gps_job(tmp_path_factory: pytest.TempPathFactory, survey: tuple[Path, Truth]) -> Path:
    """The stage run once on the survey with its exact GPS; returns its output folder."""
    folder, _ = survey
    job = make_job(tmp_path_factory.mktemp("gps"))
    (job.photos / "survey.zip").write_bytes((folder / "survey.zip").read_bytes())
    result = run_stage(job)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return job.output


def test_generated_survey_with_gps(gps_job: Path, survey: tuple[Path, Truth]) -> None:
    folder, truth = survey
    model, report = _model(gps_job)
    assert report["stage"] == "sfm" and report["warnings"] == []
    geo_block = report["georeference"]
    assert geo_block["frame"] == "enu" and geo_block["metric"] is True
    assert geo_block["rms_m"] < 0.5 and 40 < geo_block["extent_m"] < 80
    assert report["photos_placed"] == len(truth.images) == 16 and report["not_placed"] == []
    assert {c.model_name for c in model.cameras.values()} == {"PINHOLE"}
    assert sorted(p.name for p in (gps_job / "images").iterdir()) == sorted(im.name for im in truth.images)
    centres = {im.name: np.asarray(im.projection_center()) for im in model.images.values()}

    aligned = align_cameras(centres, truth.centers())
    assert aligned.missing == []
    assert aligned.rmse < 0.005 * aligned.extent, (aligned.rmse, aligned.extent)

    gps = report["gps"]
    assert isinstance(gps, dict) and gps["residual_m"] < 0.5
    origin = gps["origin"]
    shift = wgs84_to_enu(np.array([[origin["lat"], origin["lon"], origin["alt"]]]), (truth.origin.lat, truth.origin.lon, truth.origin.alt))[0]
    errors = [np.linalg.norm(centres[name] + shift - true) for name, true in truth.centers().items()]
    assert max(errors) < 0.5, errors  # metric, east-north-up, no fitting
    assert abs(shift[2]) < 0.5  # origin on the ground (truth's ground is z = 0)
    assert report["mean_reprojection_error_px"] < 1.0 and report["points"] > 100
    assert set(report["timings_s"]) >= {"ingest", "features", "matching", "mapping", "georeference", "undistort"}


def test_generated_survey_without_gps_is_upright(tmp_path: Path, survey: tuple[Path, Truth]) -> None:
    folder, truth = survey
    job = make_job(tmp_path)
    with zipfile.ZipFile(job.photos / "survey.zip", "w") as zf:
        for photo in sorted((folder / "photos").iterdir()):
            buf = io.BytesIO()
            with Image.open(photo) as im:
                exif = im.getexif()
                del exif[0x8825]  # drop the GPS block, keep the camera's focal length
                im.save(buf, "JPEG", quality=92, exif=exif.tobytes())
            zf.writestr(photo.name, buf.getvalue())
    result = run_stage(job, {"SFM_MATCHING": "exhaustive"})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    model, report = _model(job.output)
    assert report["gps"] is None and "z up estimated" in str(report["frame"])
    assert report["georeference"]["metric"] is False and report["georeference"]["frame"] == "arbitrary"
    assert [w["code"] for w in report["warnings"]] == ["not-georeferenced"]
    assert report["photos_placed"] == 16
    centres = {im.name: np.asarray(im.projection_center()) for im in model.images.values()}
    aligned = align_cameras(centres, truth.centers())
    assert aligned.rmse < 0.005 * aligned.extent
    # z is up: the similarity to the true ENU frame barely turns the z axis.
    assert aligned.similarity.rotation[2, 2] > 0.97
    ground = np.median([p.xyz[2] for p in model.points3D.values()])
    assert all(c[2] > ground for c in centres.values())


@pytest.mark.parametrize(("matching", "mapper"), [("exhaustive", "incremental"), ("sequential", "global")])
def test_generated_survey_other_matching_and_mapper(tmp_path: Path, survey: tuple[Path, Truth], matching: str, mapper: str) -> None:
    folder, truth = survey
    job = make_job(tmp_path)
    (job.photos / "survey.zip").write_bytes((folder / "survey.zip").read_bytes())
    result = run_stage(job, {"SFM_MATCHING": matching, "SFM_MAPPER": mapper, "SFM_SPATIAL_NEIGHBORS": "6"})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    model, report = _model(job.output)
    assert report["matching"] == matching and report["mapper"] == mapper
    assert report["photos_placed"] == 16
    centres = {im.name: np.asarray(im.projection_center()) for im in model.images.values()}
    aligned = align_cameras(centres, truth.centers())
    assert aligned.rmse < 0.005 * aligned.extent


def test_gps_that_disagrees_with_the_model_is_flagged_not_metric(gps_job: Path, survey: tuple[Path, Truth]) -> None:
    """The gate on the real reconstruction: the photos' true GPS passes; GPS with tens of metres
    of error per photo (a site ~60 m across) fails, with the figures."""
    _, truth = survey
    rng = np.random.default_rng(3)

    def fitted(noise_m: float) -> dict[str, Any]:
        model = pycolmap.Reconstruction(gps_job / "sparse" / "0")
        photos = []
        for im in truth.images:
            enu = im.center + rng.normal(0.0, noise_m, 3)
            lat, lon, alt = enu_to_geodetic(truth.origin, enu)
            photos.append(Photo(name=im.name, source=im.name, width=truth.width, height=truth.height, gps=(lat, lon, alt),
                                focal_px=truth.fx, camera_key="k"))
        geo = georeference(model, photos, CONFIG)
        assert geo is not None
        return assess(GeoFigures(geo.residual_m, geo.extent_m, geo.gps_accuracy_m), CONFIG, "").georeference

    good = fitted(0.0)
    assert good["metric"] is True and good["rms_m"] < 0.5
    bad = fitted(25.0)
    assert bad["metric"] is False and bad["rms_m"] > bad["limit_m"] == pytest.approx(0.05 * bad["extent_m"], rel=0.01)
    assert "disagree with the reconstructed cameras" in bad["reason"]
