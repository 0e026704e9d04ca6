"""Photo checks: formats, EXIF orientation, GPS and focal length, duplicates, options."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sfm_stage.config import choose_working_size, load_config
from sfm_stage.errors import StageError
from sfm_stage.photos import focal_prior_px, ingest, read_gps
from sfm_testkit import make_job, noise_jpeg, write_zip


def _exif(lat: float = 30.5, lon: float = -98.25, alt: float = 120.0, orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "DJI"
    exif[0x0110] = "FC6310"
    exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (30.0, 30.0, 0.0), 3: "W", 4: (98.0, 15.0, 0.0), 5: b"\x00", 6: alt})
    sub = exif.get_ifd(0x8769)
    sub.update({0x920A: 8.8, 0xA20E: 4000 / 13.2, 0xA210: 4, 0xA002: 4000, 0xA003: 3000})
    del lat, lon
    return exif


def test_gps_and_focal_are_read_from_exif() -> None:
    with Image.open(io.BytesIO(noise_jpeg(1, (400, 300), exif=_exif()))) as im:
        exif = im.getexif()
        lat, lon, alt = read_gps(exif) or (0.0, 0.0, 0.0)
        assert lat == pytest.approx(30.5) and lon == pytest.approx(-98.25) and alt == pytest.approx(120.0)
        # 8.8 mm on a 13.2 mm wide sensor, photo downscaled from 4000 to 400 px: 266.7 px
        assert focal_prior_px(exif, 400, 300) == pytest.approx(8.8 / 13.2 * 400, rel=1e-3)


def test_focal_from_35mm_equivalent_and_missing() -> None:
    exif = Image.Exif()
    assert focal_prior_px(exif, 400, 300) is None
    exif.get_ifd(0x8769)[0xA405] = 24
    assert focal_prior_px(exif, 400, 300) == pytest.approx(24 / 43.27 * 500)
    assert read_gps(exif) is None


def _png(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (90, 120, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _tiff(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (90, 120), dtype=np.uint8)).save(buf, "TIFF")
    return buf.getvalue()


def test_ingest_finds_photos_at_any_depth_and_reports_the_rest(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    rotated = noise_jpeg(3, (160, 120), exif=_exif(orientation=6))
    write_zip(
        job.photos / "survey.zip",
        {
            "a/b/c/IMG_1.JPG": noise_jpeg(1),
            "x/my photo 7.jpg": noise_jpeg(7),
            "IMG_2.png": _png(2),
            "scan.tif": _tiff(4),
            "IMG_3.jpg": rotated,
            "copy/IMG_1.jpg": noise_jpeg(1),  # same picture again
            "notes.txt": b"hello",
            "__MACOSX/._IMG_1.JPG": b"junk",
            "broken.jpg": noise_jpeg(5)[:200],
        },
    )
    (job.photos / "loose.jpeg").write_bytes(noise_jpeg(6))
    config = load_config({"SPACEPORT_OPT_ML": str(job.opt_ml), "SFM_MAX_IMAGE_SIZE": "150"})
    result = ingest(config, tmp_path / "images", tmp_path / "extracted")
    names = sorted(p.name for p in result.photos)
    assert names == ["IMG_1.JPG", "IMG_2.jpg", "IMG_3.jpg", "loose.jpeg", "my_photo_7.jpg", "scan.jpg"]
    reasons = {n.split(":", 1)[-1]: r.split(":")[0] for n, r in result.skipped}
    assert reasons["copy/IMG_1.jpg"] == "duplicate"
    assert reasons["notes.txt"] == "unsupported"
    assert reasons["broken.jpg"] == "corrupt"
    assert result.received == 8
    by_name = {p.name: p for p in result.photos}
    # EXIF orientation 6 (rotate 90°): the 160x120 photo is stored upright as 120x160, within 150 px.
    assert (by_name["IMG_3.jpg"].width, by_name["IMG_3.jpg"].height) == (112, 150)
    with Image.open(tmp_path / "images" / "IMG_3.jpg") as im:
        assert im.size == (112, 150) and im.getexif().get(0x0112, 1) == 1
        assert read_gps(im.getexif()) is not None  # GPS survives re-encoding
    assert by_name["IMG_3.jpg"].gps is not None and by_name["IMG_1.JPG"].gps is None
    assert (job.photos / "survey.zip").exists() and (job.photos / "loose.jpeg").read_bytes() == noise_jpeg(6)


def test_oversized_images_are_skipped(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    write_zip(job.photos / "s.zip", {f"{i}.jpg": noise_jpeg(i, (120, 90)) for i in range(3)} | {"huge.jpg": noise_jpeg(9, (200, 100))})
    config = load_config({"SPACEPORT_OPT_ML": str(job.opt_ml), "SFM_MAX_IMAGE_PIXELS": "15000"})
    result = ingest(config, tmp_path / "images", tmp_path / "extracted")
    assert len(result.photos) == 3
    assert [r for n, r in result.skipped if n.endswith("huge.jpg")] == ["unsupported: more than 15000 pixels (SFM_MAX_IMAGE_PIXELS)"]


def test_too_few_usable_photos(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    write_zip(job.photos / "s.zip", {"a.jpg": noise_jpeg(1), "b.jpg": noise_jpeg(2)})
    config = load_config({"SPACEPORT_OPT_ML": str(job.opt_ml)})
    with pytest.raises(StageError, match="Only 2 usable photo"):
        ingest(config, tmp_path / "images", tmp_path / "extracted")


def test_options_and_working_size() -> None:
    config = load_config({"SPACEPORT_OPT_ML": "/x", "SFM_MATCHING": "Spatial", "SFM_WORKING_SIZE": "800"})
    assert config.matching == "spatial" and config.opt_ml == Path("/x")
    assert choose_working_size(config, [1600, 1200]) == 800
    auto = load_config({})
    assert choose_working_size(auto, [4000]) == 1024 and choose_working_size(auto, [640]) == 640
    with pytest.raises(StageError, match="SFM_MIN_PHOTOS"):
        load_config({"SFM_MIN_PHOTOS": "1"})
