"""Real spherical harmonics up to degree 3 (the 3DGS / gsplat convention)."""

from __future__ import annotations

import torch
from torch import Tensor

C0 = 0.28209479177387814
C1 = 0.4886025119029199
C2 = (1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792, 0.5462742152960396)
C3 = (
    -0.5900435899266435,
    2.890611442640554,
    -0.4570457994644658,
    0.3731763325901154,
    -0.4570457994644658,
    1.445305721320277,
    -0.5900435899266435,
)


def num_sh_bases(degree: int) -> int:
    return (degree + 1) ** 2


def sh_basis(degree: int, dirs: Tensor) -> Tensor:
    """The real SH basis up to ``degree`` along ``dirs`` [N, 3] (normalised here): [N, (degree+1)**2]."""
    ones = torch.ones_like(dirs[:, 0:1])
    cols = [C0 * ones]
    if degree >= 1:
        d = dirs / dirs.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        x, y, z = d[:, 0:1], d[:, 1:2], d[:, 2:3]
        cols += [-C1 * y, C1 * z, -C1 * x]
    if degree >= 2:
        xx, yy, zz = x * x, y * y, z * z
        xy, yz, xz = x * y, y * z, x * z
        cols += [C2[0] * xy, C2[1] * yz, C2[2] * (2.0 * zz - xx - yy), C2[3] * xz, C2[4] * (xx - yy)]
    if degree >= 3:
        cols += [
            C3[0] * y * (3 * xx - yy),
            C3[1] * xy * z,
            C3[2] * y * (4 * zz - xx - yy),
            C3[3] * z * (2 * zz - 3 * xx - 3 * yy),
            C3[4] * x * (4 * zz - xx - yy),
            C3[5] * z * (xx - yy),
            C3[6] * x * (xx - 3 * yy),
        ]
    return torch.cat(cols, dim=1)


def eval_sh(degree: int, coeffs: Tensor, dirs: Tensor) -> Tensor:
    """Colour from SH coefficients ``coeffs`` [N, K, 3] along unit-less ``dirs`` [N, 3].

    Only the first ``(degree+1)**2`` coefficients are used. Returns [N, 3] (before the
    +0.5 offset and clamp, which the rasterizers apply). One batched product of the basis with
    the coefficients: indexing each coefficient (``coeffs[:, k]``) would cost a zero-filled
    [N, K, 3] gradient per coefficient in backward, 16 full-size fills a step at degree 3 (a
    quarter of a CPU step at 250k Gaussians).
    """
    k = num_sh_bases(degree)
    used = coeffs if coeffs.shape[1] == k else coeffs[:, :k]
    return torch.bmm(sh_basis(degree, dirs).unsqueeze(1), used).squeeze(1)


def rgb_to_sh0(rgb: Tensor) -> Tensor:
    return (rgb - 0.5) / C0
