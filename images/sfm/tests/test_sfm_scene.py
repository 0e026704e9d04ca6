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
from sfm_stage.geo import wgs84_to_enu
from sfm_testkit import make_job, run_stage


@pytest.fixture(scope="module")
def survey(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Truth]:
    out = tmp_path_factory.mktemp("survey")
    generate(out, SurveyConfig(seed=0, count=16, width=480, height=360), log=lambda _msg: None)
    return out, load_truth(out)


def _model(job_output: Path) -> tuple[pycolmap.Reconstruction, dict[str, Any]]:
    report = json.loads((job_output / "report.json").read_text())
    return pycolmap.Reconstruction(job_output / "sparse" / "0"), report


def test_generated_survey_with_gps(tmp_path: Path, survey: tuple[Path, Truth]) -> None:
    folder, truth = survey
    job = make_job(tmp_path)
    (job.photos / "survey.zip").write_bytes((folder / "survey.zip").read_bytes())
    result = run_stage(job)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    model, report = _model(job.output)
    assert report["photos_placed"] == len(truth.images) == 16 and report["not_placed"] == []
    assert {c.model_name for c in model.cameras.values()} == {"PINHOLE"}
    assert sorted(p.name for p in (job.output / "images").iterdir()) == sorted(im.name for im in truth.images)
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
