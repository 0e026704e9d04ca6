"""The georeference quality gate: both sides of the residual-against-extent threshold, the EXIF
accuracy criterion, no GPS at all, and the options that move the threshold."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from sfm_stage.config import Config, load_config
from sfm_stage.errors import StageError
from sfm_stage.georef import GeoFigures, assess, median_accuracy, residual_limit_m
from sfm_stage.photos import read_gps_accuracy

CONFIG = Config(opt_ml=Path("/nonexistent"))


def test_small_residual_against_the_extent_is_metric() -> None:
    # 1.5 m RMS over a 400 m site (0.4%): a consumer GNSS on a good reconstruction
    result = assess(GeoFigures(rms_m=1.5, extent_m=400.0, gps_accuracy_m=None), CONFIG, no_gps_frame="")
    assert result.georeference == {"frame": "enu", "metric": True, "rms_m": 1.5, "extent_m": 400.0, "limit_m": 20.0, "gps_accuracy_m": None}
    assert result.warnings == []
    assert result.frame.startswith("metric east-north-up")


def test_large_residual_against_the_extent_is_not_metric() -> None:
    # the survey that motivated the gate: ~120 m RMS over a site about 400 m across
    result = assess(GeoFigures(rms_m=121.4, extent_m=402.0, gps_accuracy_m=None), CONFIG, no_gps_frame="")
    geo = result.georeference
    assert geo["frame"] == "enu" and geo["metric"] is False
    assert geo["rms_m"] == 121.4 and geo["extent_m"] == 402.0 and geo["limit_m"] == pytest.approx(20.1)
    assert "121.4 m RMS" in geo["reason"] and "30% of the site's 402 m extent" in geo["reason"]
    assert [w["code"] for w in result.warnings] == ["georeference-not-metric"]
    message = result.warnings[0]["message"]
    assert message.startswith("The model is not reliably metric") and "121.4 m" in message and "20.1 m allowed" in message
    assert "NOT reliably metric" in result.frame and not result.frame.startswith("metric")


@pytest.mark.parametrize(("rms", "metric"), [(4.99, True), (5.0, True), (5.01, False)])
def test_threshold_is_five_percent_of_the_extent_by_default(rms: float, metric: bool) -> None:
    assert assess(GeoFigures(rms, 100.0, None), CONFIG, "").georeference["metric"] is metric


def test_stated_gps_accuracy_tightens_the_limit() -> None:
    # RTK-grade EXIF (2 cm) on a 400 m site: 3 m RMS is well under 5% of the extent, but far
    # beyond what the receiver claims (limit: max(3 x 0.02 m, 1 m floor) = 1 m)
    rtk = GeoFigures(rms_m=3.0, extent_m=400.0, gps_accuracy_m=0.02)
    assert residual_limit_m(rtk, CONFIG) == 1.0
    result = assess(rtk, CONFIG, "")
    assert result.georeference["metric"] is False and result.georeference["gps_accuracy_m"] == 0.02
    assert "the photos state 0.02 m GPS accuracy" in result.georeference["reason"]
    assert assess(GeoFigures(0.6, 400.0, 0.02), CONFIG, "").georeference["metric"] is True
    # a stated accuracy never loosens the extent criterion
    assert residual_limit_m(GeoFigures(30.0, 100.0, 50.0), CONFIG) == 5.0


def test_no_gps_is_flagged_as_arbitrary_scale() -> None:
    result = assess(None, CONFIG, no_gps_frame="no GPS: z up estimated from the cameras")
    assert result.georeference["frame"] == "arbitrary" and result.georeference["metric"] is False
    assert result.frame == "no GPS: z up estimated from the cameras"
    assert [w["code"] for w in result.warnings] == ["not-georeferenced"]


def test_threshold_options_are_read_and_validated() -> None:
    cfg = load_config({"SFM_GEO_MAX_RESIDUAL_SHARE": "0.5", "SFM_GEO_ACCURACY_FACTOR": "2", "SFM_GEO_MIN_RESIDUAL_M": "0.1"})
    assert (cfg.geo_max_residual_share, cfg.geo_accuracy_factor, cfg.geo_min_residual_m) == (0.5, 2.0, 0.1)
    assert assess(GeoFigures(121.4, 402.0, None), cfg, "").georeference["metric"] is True
    with pytest.raises(StageError, match="SFM_GEO_MAX_RESIDUAL_SHARE"):
        load_config({"SFM_GEO_MAX_RESIDUAL_SHARE": "lots"})


def test_median_accuracy_ignores_photos_without_one() -> None:
    assert median_accuracy([None, 2.0, 4.0, 3.0, None]) == 3.0
    assert median_accuracy([None, None]) is None


def test_gps_accuracy_is_read_from_exif() -> None:
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps[2], gps[1], gps[4], gps[3] = (45.0, 30.0, 0.0), "N", (122.0, 40.0, 0.0), "W"
    gps[0x1F] = 2.5
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "JPEG", exif=exif.tobytes())
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        assert read_gps_accuracy(im.getexif()) == 2.5
    assert read_gps_accuracy(Image.Exif()) is None
