"""Rasterizer backends behind one interface.

``rasterize(backend, ...)`` renders one camera. Every backend takes the same inputs
(activated parameters: unit-free quaternions, positive scales, opacities in (0,1), SH
coefficients [N, K, 3]) and returns a :class:`RenderOutput`. ``cpp`` is the compiled CPU tile
rasterizer (C++/OpenMP, built on first use; ``compiled.py``), ``torch`` the pure-PyTorch one
(its fallback), ``gsplat`` gsplat's CUDA ``rasterization`` (imported lazily, so CPU installs
never need gsplat). :class:`RenderMode` carries gsplat's two rendering options, which every
backend implements: ``antialiased`` (``rasterize_mode="antialiased"``: opacities times the
compensation sqrt(det(Sigma2D) / det(Sigma2D + 0.3 I)) of the 0.3 px dilation, so a Gaussian
smaller than a pixel is not widened into a blur) and ``absgrad`` (the backward also sums, per
Gaussian, the absolute per-pixel gradients of its 2D mean; densification then grows where
gradients cancel between pixels; :func:`screen_grad`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Union

import torch
from torch import Tensor

Backend = Literal["cpp", "torch", "gsplat"]

# SH coefficients: one [N, K, 3] tensor, or band 0 and the rest as the trainer keeps them
# ([N, 1, 3], [N, K-1, 3]). The compiled backend reads the pair in place and returns their
# gradients apart; concatenating them copied every coefficient each step, and splitting the
# gradient copied it again (5.6% of a CPU step at 143k Gaussians, README). The others concatenate.
SH = Union[Tensor, tuple[Tensor, Tensor]]


def sh_tensor(sh: SH) -> Tensor:
    """The coefficients as one [N, K, 3] tensor."""
    return sh if isinstance(sh, Tensor) else torch.cat(sh, dim=1)


@dataclass(frozen=True)
class RenderMode:
    antialiased: bool = False  # gsplat's rasterize_mode="antialiased" (else "classic")
    absgrad: bool = False  # backward also accumulates |per-pixel d loss / d means2d|


CLASSIC = RenderMode()


@dataclass
class RenderOutput:
    image: Tensor  # [H, W, 3]
    alpha: Tensor  # [H, W]
    means2d: Tensor  # [N, 2] pixel coordinates; .grad is filled by backward (densification)
    radii: Tensor  # [N] int, 0 where the Gaussian was culled
    width: int
    height: int
    # with RenderMode.absgrad on the CPU backends: [N, 2], filled by backward (gsplat keeps it
    # as means2d.absgrad instead)
    absgrad: Tensor | None = None


def screen_grad(out: RenderOutput, absolute: bool) -> Tensor | None:
    """The screen-space gradient densification reads after backward: means2d's gradient, or with
    ``absolute`` the sum of its absolute per-pixel parts (gsplat's absgrad)."""
    if not absolute:
        return out.means2d.grad
    if out.absgrad is not None:
        return out.absgrad
    found = getattr(out.means2d, "absgrad", None)  # gsplat sets it in its backward
    if found is None:
        raise RuntimeError("absgrad requested but the rasterizer did not produce it (render with RenderMode(absgrad=True))")
    return found  # type: ignore[no-any-return]


def resolve_backend(requested: str, device: torch.device) -> tuple[Backend, str]:
    """The backend for ``requested`` (auto | cpp | torch | gsplat) on ``device``, and one line
    saying what was chosen and why. ``auto``: gsplat on CUDA when importable; on CPU the compiled
    backend, or the PyTorch one when it cannot be built (the line says why)."""
    if requested == "auto":
        if device.type == "cuda":
            try:
                import gsplat  # noqa: F401

                return "gsplat", "rasterizer: gsplat (CUDA)"
            except ImportError:
                return "torch", "rasterizer: PyTorch tiles (gsplat is not installed)"
        from .compiled import load

        st = load()
        if st.ok:
            return "cpp", f"rasterizer: compiled C++/OpenMP CPU backend ({st.message})"
        return "torch", f"rasterizer: PyTorch CPU backend; the compiled one is not available: {st.message}"
    if requested == "gsplat":
        if device.type != "cuda":
            raise ValueError("backend=gsplat needs a CUDA device; use backend=cpp, torch or auto on CPU")
        return "gsplat", "rasterizer: gsplat (CUDA)"
    if requested == "cpp":
        if device.type != "cpu":
            raise ValueError("backend=cpp runs on CPU only; use backend=gsplat or auto on CUDA")
        from .compiled import load

        st = load()
        if not st.ok:
            raise ValueError(f"backend=cpp: the compiled CPU rasterizer could not be built ({st.message}); use backend=torch")
        return "cpp", f"rasterizer: compiled C++/OpenMP CPU backend ({st.message})"
    if requested == "torch":
        return "torch", "rasterizer: PyTorch CPU backend (as requested)"
    raise ValueError(f"unknown backend '{requested}' (expected auto, cpp, torch or gsplat)")


def rasterize(
    backend: Backend,
    means: Tensor,
    quats: Tensor,
    scales: Tensor,
    opacities: Tensor,
    sh: SH,
    viewmat: Tensor,
    K: Tensor,
    width: int,
    height: int,
    sh_degree: int,
    background: Tensor | None = None,
    mode: RenderMode = CLASSIC,
) -> RenderOutput:
    if backend == "cpp":
        from .cpp_tiles import rasterize_cpp

        return rasterize_cpp(means, quats, scales, opacities, sh, viewmat, K, width, height, sh_degree, background, mode=mode)
    args = (means, quats, scales, opacities, sh_tensor(sh), viewmat, K, width, height, sh_degree, background)
    if backend == "torch":
        from .torch_tiles import rasterize_torch

        return rasterize_torch(*args, mode=mode)
    if backend == "gsplat":
        from .gsplat_backend import rasterize_gsplat

        return rasterize_gsplat(*args, mode=mode)
    raise ValueError(f"unknown backend '{backend}'")
