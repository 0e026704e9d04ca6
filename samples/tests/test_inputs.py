"""The end-to-end inputs: real subsets keep their GPS; bad ZIPs are bad in the intended way."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from PIL import Image

from samples import inputs


def test_caliterra_subset_keeps_gps_and_downscales(tmp_path: Path) -> None:
    try:
        folder = inputs.caliterra_dir()
    except SystemExit:
        pytest.skip("caliterra dataset not available")
    assert folder.is_dir()
    out = tmp_path / "sub.zip"
    inputs.caliterra(out, "IMG_9354", 2, 400)
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        assert names == ["IMG_9354.jpg", "IMG_9355.jpg"]
        archive.extract(names[0], tmp_path)
    with Image.open(tmp_path / names[0]) as image:
        assert max(image.size) == 400
        assert image.getexif().get_ifd(0x8825)  # GPS block survives


def test_bad_inputs(tmp_path: Path) -> None:
    inputs.no_images(tmp_path / "docs.zip")
    with zipfile.ZipFile(tmp_path / "docs.zip") as archive:
        assert all(not n.lower().endswith((".jpg", ".jpeg", ".png", ".tif", ".tiff")) for n in archive.namelist())
    inputs.not_a_zip(tmp_path / "text.zip")
    assert not zipfile.is_zipfile(tmp_path / "text.zip")
