"""Fused SSIM in C++ (``csrc/ssim.cpp``) for the compiled backend's training loss: the value of
``metrics.ssim`` (11x11 Gaussian window, sigma 1.5, zero padding) and its gradient with respect
to the rendered image, without the ten depthwise convolutions of the PyTorch version."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .compiled import ops


class _SsimCpp(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, img: Tensor, ref: Tensor) -> Tensor:
        x, y = img.contiguous(), ref.contiguous()
        value, d_mu, d_xx, d_xy = ops().ssim_forward(x, y)
        ctx.save_for_backward(x, y, d_mu, d_xx, d_xy)
        out: Tensor = value
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, None]:
        x, y, d_mu, d_xx, d_xy = ctx.saved_tensors
        return ops().ssim_backward(x, y, d_mu, d_xx, d_xy, float(grad)), None


def ssim_cpp(img: Tensor, ref: Tensor) -> Tensor:
    """Mean SSIM of two [H, W, 3] CPU images; differentiable in ``img`` only (``ref`` is the photo)."""
    if ref.requires_grad:
        raise ValueError("ssim_cpp: the reference image must not require a gradient")
    if img.shape != ref.shape or img.dim() != 3:
        raise ValueError(f"ssim_cpp: images must be [H, W, C] of one shape, got {tuple(img.shape)} and {tuple(ref.shape)}")
    out: Tensor = _SsimCpp.apply(img, ref.to(img.dtype))
    return out
