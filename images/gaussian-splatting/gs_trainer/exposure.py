"""Whether to learn a per-photo colour correction: ``exposure_compensation=auto`` decides from
the photos' EXIF.

A per-photo correction pays off when the camera changed exposure or white balance between
shots. When it did not, the correction only soaks up per-photo misfit that the Gaussians should
have explained, and held-out photos (scored with the mean correction) get worse: on caliterra
(every photo 1/1000 s, f/4, ISO 100, manual white balance) it cost 1.8 dB held-out PSNR
(images/gaussian-splatting/README.md, benchmark)."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import ExifTags
from PIL import Image as PILImage


@dataclass(frozen=True)
class PhotoExposure:
    """A photo's exposure settings as its EXIF records them (None: not recorded)."""

    exposure_time: float | None = None  # seconds
    f_number: float | None = None
    iso: float | None = None
    auto_white_balance: bool | None = None

    @property
    def settings(self) -> tuple[float, float, float] | None:
        if self.exposure_time is None or self.f_number is None or self.iso is None:
            return None
        return (self.exposure_time, self.f_number, self.iso)


def _number(v: object) -> float | None:
    if isinstance(v, (tuple, list)):
        v = v[0] if v else None
    try:
        return float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError, ZeroDivisionError):
        return None


def read_photo_exposure(img: PILImage.Image) -> PhotoExposure:
    ex = img.getexif().get_ifd(ExifTags.IFD.Exif)
    wb = ex.get(ExifTags.Base.WhiteBalance)
    return PhotoExposure(
        exposure_time=_number(ex.get(ExifTags.Base.ExposureTime)),
        f_number=_number(ex.get(ExifTags.Base.FNumber)),
        iso=_number(ex.get(ExifTags.Base.ISOSpeedRatings)),
        auto_white_balance=None if wb is None else int(wb) == 0,
    )


def _describe(settings: tuple[float, float, float]) -> str:
    t, f, iso = settings
    shutter = f"1/{round(1 / t)} s" if 0 < t < 1 else f"{t:g} s"
    return f"{shutter}, f/{f:g}, ISO {iso:g}"


def choose_model(setting: str, photos: list[PhotoExposure]) -> tuple[str, str]:
    """The correction model to train with ("channel", "affine" or "off") and why."""
    if setting != "auto":
        return setting, "set by hyperparameter"
    if not photos:
        return "off", "no training photos"
    settings = {p.settings for p in photos}
    if None in settings:
        return "channel", "some photos do not record their exposure"
    if len(settings) > 1:
        return "channel", f"exposure varies between photos ({len(settings)} different settings)"
    if any(p.auto_white_balance for p in photos):
        return "channel", "white balance is automatic"
    only = next(iter(settings))
    assert only is not None
    return "off", f"every photo at {_describe(only)}" + (
        ", manual white balance" if all(p.auto_white_balance is False for p in photos) else ""
    )
