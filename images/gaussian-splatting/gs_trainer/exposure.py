"""Whether to learn a per-photo colour correction: ``exposure_compensation=auto`` decides from
the photos' EXIF.

A per-photo correction pays off when the camera changed exposure or white balance between
shots. When it did not, the correction only soaks up per-photo misfit that the Gaussians should
have explained, and held-out photos (scored with the mean correction) get worse: on caliterra
(every photo 1/1000 s, f/4, ISO 100, manual white balance) it cost 1.8 dB held-out PSNR
(images/gaussian-splatting/README.md, benchmark). With it on, held-out photos are scored after
fitting their own exposure (``fit_to_photo``, used by held_out.py)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from PIL import ExifTags
from PIL import Image as PILImage
from torch import Tensor

FIT_BLOCK = 16  # px: fit_to_photo's area-averaging


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


def fit_to_photo(img: Tensor, photo: Tensor, model: str) -> Tensor:
    """``img`` [H, W, 3] under the per-photo colour transform of ``model`` ("channel": a gain and an
    offset per colour channel; "affine": a 3x3 matrix and an offset) that best matches ``photo``,
    clamped to [0, 1].

    Why: with exposure compensation on, each training photo has its own learned transform, but a
    held-out photo's exposure is unknown to the model; scored at the training photos' mean, a
    sharp model of a photo taken a stop brighter loses several dB and reads as a blur. Fitting
    the transform training would have learned for it (colour-corrected PSNR, as gsplat reports
    beside its appearance models) leaves detail, blur and holes to the score. The fit is made on
    both images area-averaged over FIT_BLOCK px blocks: there a blurred render matches the photo
    as well as a sharp one, so a least-squares gain cannot win back what blur lost (fitted on full
    resolution it would: a blur's lower contrast is partly undone by a gain above one)."""
    k = max(1, min(FIT_BLOCK, min(img.shape[0], img.shape[1]) // 8))
    lo_img = F.avg_pool2d(img.permute(2, 0, 1)[None].double(), k).reshape(3, -1).T
    lo_photo = F.avg_pool2d(photo.permute(2, 0, 1)[None].double(), k).reshape(3, -1).T
    x = img.reshape(-1, 3).double()
    if model == "affine":
        ones = torch.ones_like(lo_img[:, :1])
        coef = torch.linalg.lstsq(torch.cat([lo_img, ones], 1), lo_photo).solution  # [4, 3]
        out = x @ coef[:3] + coef[3]
    elif model == "channel":
        xm, ym = lo_img.mean(0), lo_photo.mean(0)
        var = (lo_img - xm).square().mean(0)
        cov = ((lo_img - xm) * (lo_photo - ym)).mean(0)
        gain = torch.where(var > 1e-12, cov / var.clamp_min(1e-12), torch.ones_like(var))  # a flat render: offset only
        out = (x - xm) * gain + ym
    else:
        raise ValueError(f"unknown exposure model '{model}' (expected channel or affine)")
    fitted: Tensor = out.clamp(0, 1).reshape(img.shape).to(img.dtype)
    return fitted
