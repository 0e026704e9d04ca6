from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from gs_trainer.colmap import Camera, Image, Model, Points, read_model, rotmat_to_qvec, qvec_to_rotmat, write_model
from gs_trainer.config import PRESETS, ConfigError, parse_hyperparameters
from gs_trainer.data import DataError, load_scene

from gs_synthetic import make_scene


def test_presets_and_overrides() -> None:
    cfg = parse_hyperparameters({"quality": "preview"})
    assert (cfg.steps, cfg.resolution_scale, cfg.max_gaussians, cfg.sh_degree) == tuple(
        PRESETS["preview"][k] for k in ("steps", "resolution_scale", "max_gaussians", "sh_degree")
    )
    cfg = parse_hyperparameters({"quality": "high", "steps": "1_000", "backend": "TORCH", "holdout": "a.jpg, b", "densify": "false"})
    assert cfg.steps == 1000 and cfg.backend == "torch" and cfg.holdout == ["a.jpg", "b"] and not cfg.densify
    assert cfg.max_gaussians == PRESETS["high"]["max_gaussians"]
    assert parse_hyperparameters({}).quality == "standard"
    assert parse_hyperparameters({}).exposure_compensation == "auto"
    assert [parse_hyperparameters({"exposure_compensation": v}).exposure_compensation for v in ("false", "true", "Affine")] == [
        "off", "channel", "affine"
    ]


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"steps": "ten"}, "'steps'"),
        ({"steps": "0"}, "'steps'"),
        ({"steps": "1.5"}, "'steps'"),
        ({"quality": "ultra"}, "'quality'"),
        ({"sh_degree": "4"}, "'sh_degree'"),
        ({"resolution_scale": "0"}, "'resolution_scale'"),
        ({"backend": "cuda"}, "'backend'"),
        ({"densify": "maybe"}, "'densify'"),
        ({"max_gausians": "10"}, "'max_gausians'"),
        ({"holdout_every": "1"}, "'holdout_every'"),
        ({"exposure_compensation": "sometimes"}, "'exposure_compensation'"),
        ({"num_downscales": "7"}, "'num_downscales'"),
    ],
)
def test_bad_hyperparameters_name_the_key(raw: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        parse_hyperparameters(raw)


def test_colmap_roundtrip_and_pycolmap(tmp_path: Path) -> None:
    R = qvec_to_rotmat(np.array([0.9, 0.1, -0.2, 0.3]))
    q = rotmat_to_qvec(R)
    np.testing.assert_allclose(qvec_to_rotmat(q), R, atol=1e-12)
    model = Model(
        cameras={3: Camera(3, "PINHOLE", 640, 480, np.array([500.0, 510.0, 320.5, 240.25]))},
        images={7: Image(7, q, np.array([0.1, 0.2, 0.3]), 3, "dir/a.jpg")},
        points=Points(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), np.array([[1, 2, 3], [200, 100, 0]], np.uint8), np.zeros(2)),
    )
    write_model(tmp_path, model)
    back = read_model(tmp_path)
    assert back.cameras[3].intrinsics() == (500.0, 510.0, 320.5, 240.25)
    assert back.images[7].name == "dir/a.jpg"
    np.testing.assert_allclose(back.images[7].world_to_camera()[:3, :3], R, atol=1e-12)
    np.testing.assert_array_equal(back.points.rgb, model.points.rgb)
    pycolmap = pytest.importorskip("pycolmap")  # cross-check with COLMAP's own reader
    rec = pycolmap.Reconstruction(str(tmp_path))
    assert rec.num_points3D() == 2 and rec.cameras[3].model.name == "PINHOLE"
    img = rec.images[7]
    np.testing.assert_allclose(np.asarray(img.cam_from_world().rotation.matrix()), R, atol=1e-9)


def test_scene_errors(tmp_path: Path) -> None:
    cfg = parse_hyperparameters({"quality": "preview"})
    with pytest.raises(DataError, match="no COLMAP model"):
        load_scene(tmp_path, cfg)
    make_scene(tmp_path / "s", n_images=4, width=32, height=24, n_points=40)
    scene = load_scene(tmp_path / "s", parse_hyperparameters({"quality": "preview", "resolution_scale": "0.5"}))
    assert (scene.views[0].width, scene.views[0].height) == (16, 12)
    assert [v.held_out for v in scene.views] == [True, False, False, False]
    with pytest.raises(DataError, match="'holdout' names nope"):
        load_scene(tmp_path / "s", parse_hyperparameters({"holdout": "nope"}))
    # an empty point cloud
    pts = tmp_path / "s" / "sparse" / "0" / "points3D.bin"
    pts.write_bytes(struct.pack("<Q", 0))
    with pytest.raises(DataError, match="SfM model has 0 points"):
        load_scene(tmp_path / "s", cfg)


def test_auto_exposure_compensation_reads_exif(tmp_path: Path) -> None:
    from PIL import ExifTags, Image
    from PIL.TiffImagePlugin import IFDRational

    from gs_trainer.exposure import PhotoExposure, choose_model, read_photo_exposure

    def photo(t: tuple[int, int], wb: int | None) -> PhotoExposure:
        exif = Image.Exif()
        ex = exif.get_ifd(ExifTags.IFD.Exif)
        ex[ExifTags.Base.ExposureTime] = IFDRational(*t)
        ex[ExifTags.Base.FNumber] = IFDRational(4, 1)
        ex[ExifTags.Base.ISOSpeedRatings] = 100
        if wb is not None:
            ex[ExifTags.Base.WhiteBalance] = wb
        path = tmp_path / "p.jpg"
        Image.new("RGB", (8, 8)).save(path, exif=exif)
        with Image.open(path) as im:
            return read_photo_exposure(im)

    fixed = photo((1, 1000), 1)
    assert fixed == PhotoExposure(0.001, 4.0, 100.0, False)
    assert choose_model("auto", [fixed, fixed]) == ("off", "every photo at 1/1000 s, f/4, ISO 100, manual white balance")
    assert choose_model("auto", [fixed, photo((1, 500), 1)])[0] == "channel"  # exposure changed
    assert choose_model("auto", [fixed, photo((1, 1000), 0)])[0] == "channel"  # auto white balance
    assert choose_model("auto", [fixed, PhotoExposure()])[0] == "channel"  # not recorded
    assert choose_model("affine", [fixed]) == ("affine", "set by hyperparameter")


def test_auto_exposure_on_the_sample_surveys(tmp_path: Path) -> None:
    """The generated survey (fixed exposure) trains without compensation; its harder variant with
    auto exposure (samples.survey --exposure-change) writes each photo's shutter time, and the
    trainer compensates it (and so scores its held-out photos with their exposure fitted)."""
    from PIL import Image as PILImage

    from gs_trainer.exposure import choose_model, read_photo_exposure
    from samples.survey import SurveyConfig, generate

    chosen = {}
    for stops in (0.0, 0.7):
        out = tmp_path / f"stops{stops}"
        generate(out, SurveyConfig(count=3, width=48, height=36, pattern="orbit", exposure_stops=stops), log=lambda _: None)
        photos = []
        for path in sorted((out / "photos").glob("*.JPG")):
            with PILImage.open(path) as im:
                photos.append(read_photo_exposure(im))
        chosen[stops] = choose_model("auto", photos)
    assert chosen[0.0][0] == "off" and chosen[0.0][1].startswith("every photo at 1/800 s")
    assert chosen[0.7] == ("channel", "exposure varies between photos (3 different settings)")
