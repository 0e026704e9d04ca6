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
