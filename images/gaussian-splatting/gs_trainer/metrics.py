"""Image losses and metrics: L1, SSIM (11x11 Gaussian window, sigma 1.5), PSNR."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor


def _window(size: int, sigma: float, device: torch.device, dtype: torch.dtype) -> Tensor:
    x = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(x * x) / (2 * sigma * sigma))
    return g / g.sum()


def ssim(img: Tensor, ref: Tensor, size: int = 11, sigma: float = 1.5) -> Tensor:
    """Mean SSIM of two [H, W, 3] images in [0, 1] (separable Gaussian filter, 'same' padding as 3DGS)."""
    x = img.permute(2, 0, 1)[None]
    y = ref.permute(2, 0, 1)[None]
    c = x.shape[1]
    g = _window(size, sigma, img.device, img.dtype)
    wx = g.reshape(1, 1, 1, size).repeat(c, 1, 1, 1)
    wy = g.reshape(1, 1, size, 1).repeat(c, 1, 1, 1)
    pad = size // 2

    def blur(t: Tensor) -> Tensor:
        t = F.conv2d(t, wx, padding=(0, pad), groups=c)
        return F.conv2d(t, wy, padding=(pad, 0), groups=c)

    mu_x, mu_y = blur(x), blur(y)
    sxx = blur(x * x) - mu_x * mu_x
    syy = blur(y * y) - mu_y * mu_y
    sxy = blur(x * y) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x * mu_x + mu_y * mu_y + c1) * (sxx + syy + c2))
    return s.mean()


def psnr(img: Tensor, ref: Tensor) -> float:
    mse = float(torch.mean((img.clamp(0, 1) - ref) ** 2))
    return 100.0 if mse <= 1e-10 else -10.0 * math.log10(mse)


def loss_fn(
    img: Tensor, ref: Tensor, ssim_lambda: float, ssim_fn: Callable[[Tensor, Tensor], Tensor] = ssim
) -> Tensor:
    """(1 - lambda) L1 + lambda (1 - SSIM); ``ssim_fn``: this module's ssim or the compiled
    backend's fused one (the same value)."""
    l1 = (img - ref).abs().mean()
    if ssim_lambda == 0:
        return l1
    return (1 - ssim_lambda) * l1 + ssim_lambda * (1 - ssim_fn(img, ref))


BLUR_MAX_SIDE = 400  # px: both images are area-averaged to at most this before equivalent_blur
BLUR_LADDER = 17  # Gaussian sigmas from 0.5 px, sqrt(2) apart, up to BLUR_CAP of the width
BLUR_CAP = 0.25  # equivalent_blur's answer where no blur up to a quarter of the width is as far


def equivalent_blur(img: Tensor, ref: Tensor) -> float:
    """How blurred the photo ``ref`` [H, W, 3] has to be to differ from itself as much as ``img``
    differs from it: the sigma of that Gaussian blur as a share of the photo's width (0.01: 1%),
    on both images area-averaged to at most BLUR_MAX_SIDE px. BLUR_CAP (0.25: "a quarter of the
    width or more") where the render is further from the photo than every blur up to that: it
    shows none of the photo's structure.

    Why beside PSNR: PSNR measures the error against the photo's full range, so on a low-contrast
    site (grass, gravel) a model that is one smooth colour with the house missing still scores
    27 dB, "sharp" by any fixed PSNR floor. This figure is relative to the photo's own detail:
    sharp preview models are at 0.5-1.8%, that smooth model at 14.5% (README, harder surveys)."""
    x, y = img.permute(2, 0, 1)[None].double(), ref.permute(2, 0, 1)[None].double()
    h, w = y.shape[-2:]
    if max(h, w) > BLUR_MAX_SIDE:
        size = (max(1, round(h * BLUR_MAX_SIDE / max(h, w))), max(1, round(w * BLUR_MAX_SIDE / max(h, w))))
        x, y = F.interpolate(x, size=size, mode="area"), F.interpolate(y, size=size, mode="area")
        h, w = size
    err = float(torch.mean((x.clamp(0, 1) - y) ** 2))
    # Gaussian blurs of the photo by FFT over its mirror-extended copy (edges as a reflecting border)
    ext = torch.cat([y, y.flip(-1)], -1)
    ext = torch.cat([ext, ext.flip(-2)], -2)
    spec = torch.fft.rfft2(ext)
    f2 = torch.fft.fftfreq(2 * h, dtype=ext.dtype)[:, None] ** 2 + torch.fft.rfftfreq(2 * w, dtype=ext.dtype)[None, :] ** 2
    prev_s, prev_e = 0.0, 0.0
    for i in range(BLUR_LADDER):
        s = 0.5 * 2 ** (i / 2)
        if s > BLUR_CAP * w:
            break
        blurred = torch.fft.irfft2(spec * torch.exp(-2 * math.pi**2 * s * s * f2), s=ext.shape[-2:])[..., :h, :w]
        e = float(torch.mean((blurred - y) ** 2))
        if e >= err:  # between the previous rung and this one, linear in the error
            t = 0.0 if e <= prev_e else (err - prev_e) / (e - prev_e)
            return (prev_s + t * (s - prev_s)) / w
        prev_s, prev_e = s, e
    return BLUR_CAP
