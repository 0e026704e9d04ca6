from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image

from samples.exif import read_gps
from samples.flight import Shot, plan
from samples.geo import geodetic_to_enu
from samples.render import look_at
from samples.survey import SurveyConfig, generate, main, photo_name
from samples.truth import load_truth

from .conftest import SMALL


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), np.float32)


def test_same_seed_same_bytes_other_seed_other_pixels(small_survey: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate(again, SMALL, log=lambda _: None)
    for name in ("truth.json", "survey.zip", *(f"photos/{photo_name(i)}" for i in range(SMALL.count))):
        assert (again / name).read_bytes() == (small_survey / name).read_bytes(), name
    other = tmp_path / "other"
    generate(other, SurveyConfig(seed=SMALL.seed + 1, count=2, width=SMALL.width, height=SMALL.height), log=lambda _: None)
    a, b = _pixels(small_survey / "photos" / photo_name(0)), _pixels(other / "photos" / photo_name(0))
    assert np.abs(a - b).mean() > 5.0


def test_truth_file_describes_every_photo(small_survey: Path) -> None:
    truth = load_truth(small_survey)
    assert [im.name for im in truth.images] == [photo_name(i) for i in range(SMALL.count)]
    assert (truth.width, truth.height) == (SMALL.width, SMALL.height)
    assert truth.cx == SMALL.width / 2 and truth.fx == pytest.approx(SMALL.width * 8.8 / 13.2)
    assert {im.leg for im in truth.images} == {"orbit", "grid"}
    for im in truth.images:
        r = im.rotation
        assert np.allclose(r.T @ r, np.eye(3), atol=1e-6) and np.linalg.det(r) == pytest.approx(1.0)
        # OpenCV camera: the site centre lies in front of the camera and projects near the image centre
        pc = r.T @ (np.array([0.0, 0.0, 2.0]) - im.center)
        assert pc[2] > 0
        u, v = truth.fx * pc[0] / pc[2] + truth.cx, truth.fy * pc[1] / pc[2] + truth.cy
        assert abs(u - truth.cx) < 0.3 * truth.width and abs(v - truth.cy) < 0.3 * truth.height
        # image y (down) has no east-west tilt: no roll
        assert abs(r[2, 0]) < 1e-9
    assert truth.scene_extent > 20


def test_exif_gps_and_camera_tags_read_back(small_survey: Path) -> None:
    truth = load_truth(small_survey)
    for im in truth.images:
        path = small_survey / "photos" / im.name
        fix = read_gps(path)
        enu = geodetic_to_enu(truth.origin, fix.lat, fix.lon, fix.alt)
        assert np.linalg.norm(enu - im.center) < 0.01, im.name  # DMS seconds to 1e-4": 3 mm
        assert np.array_equal(im.gps_enu, im.center)
        with Image.open(path) as img:
            assert img.size == (SMALL.width, SMALL.height)
            exif = img.getexif()
            ex = exif.get_ifd(ExifTags.IFD.Exif)
            assert exif[ExifTags.Base.Make] == "DJI" and exif[ExifTags.Base.Model] == "FC6310"
            assert float(ex[ExifTags.Base.FocalLength]) == pytest.approx(8.8)
            assert ex[ExifTags.Base.FocalLengthIn35mmFilm] == 24
            assert (ex[ExifTags.Base.ExifImageWidth], ex[ExifTags.Base.ExifImageHeight]) == (SMALL.width, SMALL.height)
            assert ex[ExifTags.Base.DateTimeOriginal].startswith("2024:05:18 ")
            assert b"drone-dji:RelativeAltitude" in img.info["xmp"]
    times = [Image.open(small_survey / "photos" / im.name).getexif().get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal]
             for im in truth.images]
    assert times == sorted(times) and len(set(times)) == len(times)


def test_photos_are_textured_not_blank(small_survey: Path) -> None:
    for i in range(SMALL.count):
        img = _pixels(small_survey / "photos" / photo_name(i)).mean(axis=2)
        assert img.std() > 15
        # local detail everywhere: the 4x4-block standard deviation is high in most blocks
        h, w = (img.shape[0] // 4) * 4, (img.shape[1] // 4) * 4
        blocks = img[:h, :w].reshape(h // 4, 4, w // 4, 4).std(axis=(1, 3))
        assert np.median(blocks) > 3.0 and np.mean(blocks > 2.0) > 0.7


def test_zip_holds_exactly_the_photos(small_survey: Path) -> None:
    with zipfile.ZipFile(small_survey / "survey.zip") as zf:
        names = zf.namelist()
        assert names == [photo_name(i) for i in range(SMALL.count)]
        for n in names:
            assert zf.read(n) == (small_survey / "photos" / n).read_bytes()


def test_flight_pitch_and_overlap() -> None:
    """Every camera is pitched 30-60 degrees down; neighbouring shots share >= 70% of their ground view."""
    shots = plan(36, "both", seed=0)
    f, w, h = 533.3, 800, 600
    grid = np.stack(np.meshgrid(np.linspace(20, w - 20, 24), np.linspace(20, h - 20, 18)), -1).reshape(-1, 2)

    def ground_points(s: Shot) -> np.ndarray:
        d = np.c_[(grid - [w / 2, h / 2]) / f, np.ones(len(grid))] @ s.rotation.T
        t = -s.center[2] / d[:, 2]
        out: np.ndarray = s.center + t[:, None] * d
        return out

    def inside(s: Shot, p: np.ndarray) -> np.ndarray:
        pc = (p - s.center) @ s.rotation
        u, v = f * pc[:, 0] / pc[:, 2] + w / 2, f * pc[:, 1] / pc[:, 2] + h / 2
        out: np.ndarray = (pc[:, 2] > 0) & (u >= 0) & (u < w) & (v >= 0) & (v < h)
        return out

    for s in shots:
        pitch = np.degrees(np.arcsin(-s.rotation[2, 2]))
        assert 30 <= pitch <= 60, pitch
    for a, b in zip(shots, shots[1:]):
        if a.leg == b.leg:
            assert inside(b, ground_points(a)).mean() >= 0.7


def test_look_at_is_opencv() -> None:
    r = look_at(np.array([0.0, -10.0, 10.0]), np.zeros(3))
    assert np.allclose(r[:, 0], [1, 0, 0])  # x right = east when looking north
    assert r[2, 1] < 0 and r[1, 2] > 0  # y down-ish, z forward (north and down)


def test_cli_refuses_bad_options_and_existing_output(small_survey: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--out", str(small_survey), "--count", "2", "--width", "64", "--height", "48"]) == 2
    assert "already holds a survey" in capsys.readouterr().err
    assert main(["--out", str(small_survey / "x"), "--count", "0"]) == 2
    assert "count" in capsys.readouterr().err
    assert main(["--out", str(small_survey / "y"), "--width", "8"]) == 2
    assert "size" in capsys.readouterr().err


def test_cli_writes_a_survey(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    assert main(["--out", str(out), "--count", "3", "--width", "96", "--height", "72", "--pattern", "orbit", "--seed", "5"]) == 0
    printed = capsys.readouterr().out
    assert "progress: 100.0%" in printed and "s/photo" in printed
    data = json.loads((out / "truth.json").read_text())
    assert [im["leg"] for im in data["images"]] == ["orbit"] * 3 and data["generator"]["seed"] == 5
    assert main(["--out", str(out), "--count", "2", "--width", "96", "--height", "72", "--force"]) == 0
    assert sorted(p.name for p in (out / "photos").iterdir()) == [photo_name(0), photo_name(1)]


def test_gps_noise_moves_only_the_exif(tmp_path: Path) -> None:
    generate(tmp_path, SurveyConfig(seed=1, count=3, width=64, height=48, pattern="orbit", gps_noise=2.0), log=lambda _: None)
    truth = load_truth(tmp_path)
    offsets = []
    for im in truth.images:
        fix = read_gps(tmp_path / "photos" / im.name)
        enu = geodetic_to_enu(truth.origin, fix.lat, fix.lon, fix.alt)
        assert np.linalg.norm(enu - im.gps_enu) < 0.01
        offsets.append(np.linalg.norm(enu - im.center))
    assert 0.3 < float(np.mean(offsets)) < 10.0


def test_ground_variant_walks_around_the_house_at_eye_height_without_gps(tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path), "--count", "6", "--width", "96", "--height", "72", "--pattern", "ground"]) == 0
    truth = load_truth(tmp_path)
    assert {im.leg for im in truth.images} == {"ground"}
    angles = []
    for im in truth.images:
        assert 1.2 < im.center[2] < 2.2 and 14.0 < np.hypot(*im.center[:2]) < 16.0
        forward = im.rotation[:, 2]
        assert abs(np.degrees(np.arcsin(forward[2]))) < 15  # held about level
        # the house's middle lies ahead, near the image centre
        pc = im.rotation.T @ (np.array([0.0, 0.0, 3.0]) - im.center)
        assert pc[2] > 0 and abs(truth.fx * pc[0] / pc[2]) < 0.15 * truth.width
        angles.append(np.arctan2(im.center[1], im.center[0]))
        with pytest.raises(ValueError, match="no EXIF GPS"):
            read_gps(tmp_path / "photos" / im.name)
        with Image.open(tmp_path / "photos" / im.name) as photo:
            assert photo.getexif().get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.FocalLengthIn35mmFilm] == 24
    # all the way around: consecutive stands about 60 degrees apart
    steps = np.diff(np.unwrap(np.array(angles)))
    assert np.allclose(steps, 2 * np.pi / 6, atol=0.1)


def test_exposure_change_moves_pixels_and_shutter_together(tmp_path: Path) -> None:
    base = tmp_path / "base"
    generate(base, SurveyConfig(seed=1, count=4, width=64, height=48, pattern="orbit"), log=lambda _: None)
    generate(tmp_path / "x", SurveyConfig(seed=1, count=4, width=64, height=48, pattern="orbit", exposure_stops=1.0), log=lambda _: None)
    truth = json.loads((tmp_path / "x" / "truth.json").read_text())
    stops = [im["exposure_stops"] for im in truth["images"]]
    assert truth["generator"]["exposure_stops"] == 1.0 and len(set(stops)) == 4 and max(map(abs, stops)) <= 2.0
    for im, s in zip(truth["images"], stops):
        with Image.open(tmp_path / "x" / "photos" / im["name"]) as photo:
            shutter = float(photo.getexif().get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.ExposureTime])
        assert shutter == pytest.approx(2.0**s / 800, rel=0.02)
        brighter = _pixels(tmp_path / "x" / "photos" / im["name"]).mean() > _pixels(base / "photos" / im["name"]).mean()
        assert brighter == (s > 0)
    with Image.open(base / "photos" / photo_name(0)) as photo:  # the default survey: one shutter
        assert float(photo.getexif().get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.ExposureTime]) == pytest.approx(1 / 800)


def test_low_texture_and_repeated_pattern_variants(tmp_path: Path) -> None:
    kw = {"seed": 1, "count": 1, "width": 96, "height": 72, "pattern": "grid"}
    for name, extra in (("base", {}), ("flat", {"texture_contrast": 0.2}), ("rep", {"texture_repeat": 8})):
        generate(tmp_path / name, SurveyConfig(**kw, **extra), log=lambda _: None)  # type: ignore[arg-type]
    px = {n: _pixels(tmp_path / n / "photos" / photo_name(0)) for n in ("base", "flat", "rep")}
    # low texture: far less local detail (high-pass energy) than the normal survey
    def detail(a: np.ndarray) -> float:
        return float(np.abs(np.diff(a, axis=1)).mean())
    assert detail(px["flat"]) < 0.5 * detail(px["base"])
    assert not np.array_equal(px["rep"], px["base"])  # the ground pattern changed
    with pytest.raises(ValueError, match="texture contrast"):
        SurveyConfig(texture_contrast=0.0)
