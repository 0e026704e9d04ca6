"""Projection of 3D Gaussians to the image (EWA splatting), shared by the tile rasterizer and
the densification strategy: the same maths as gsplat's ``classic`` projection (see torch_tiles)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

NEAR = 0.01
EPS2D = 0.3


def quat_to_rotmat(quats: Tensor) -> Tensor:
    """[N, 4] (w, x, y, z), not necessarily unit -> [N, 3, 3]."""
    q = quats / quats.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    w, x, y, z = q.unbind(-1)
    return torch.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ],
        dim=-1,
    ).reshape(-1, 3, 3)


@dataclass
class Projected:
    means2d: Tensor  # [N, 2]
    conics: Tensor  # [N, 3] (a, b, c) of the inverse 2D covariance
    cov2d: Tensor  # [N, 3] (xx, xy, yy)
    depths: Tensor  # [N]
    visible: Tensor  # [N] bool
    # sqrt(det(Sigma2D) / det(Sigma2D + EPS2D I)): what the dilation by EPS2D adds in area, by
    # which rasterize_mode="antialiased" divides opacity (gsplat's compensation, Mip-Splatting's 2D filter)
    compensation: Tensor  # [N]


def project(
    means: Tensor, quats: Tensor, scales: Tensor, viewmat: Tensor, K: Tensor, width: int, height: int
) -> Projected:
    R = viewmat[:3, :3]
    t = viewmat[:3, 3]
    p = means @ R.T + t
    x, y, z = p.unbind(-1)
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    in_front = z > NEAR
    zs = torch.where(in_front, z, torch.ones_like(z))
    # Jacobian of the perspective projection, with gsplat's clamp of x/z and y/z.
    tan_fovx = 0.5 * width / fx
    tan_fovy = 0.5 * height / fy
    lim_x_pos = (width - cx) / fx + 0.3 * tan_fovx
    lim_x_neg = cx / fx + 0.3 * tan_fovx
    lim_y_pos = (height - cy) / fy + 0.3 * tan_fovy
    lim_y_neg = cy / fy + 0.3 * tan_fovy
    tx = zs * torch.minimum(lim_x_pos, torch.maximum(-lim_x_neg, x / zs))
    ty = zs * torch.minimum(lim_y_pos, torch.maximum(-lim_y_neg, y / zs))
    zero = torch.zeros_like(zs)
    J = torch.stack(
        [fx / zs, zero, -fx * tx / (zs * zs), zero, fy / zs, -fy * ty / (zs * zs)], dim=-1
    ).reshape(-1, 2, 3)
    Rq = quat_to_rotmat(quats)
    M = Rq * scales[:, None, :]  # R S
    cov3d = M @ M.transpose(1, 2)
    T = J @ R  # world -> image plane Jacobian, [N, 2, 3]
    cov = T @ cov3d @ T.transpose(1, 2)
    cxx = cov[:, 0, 0] + EPS2D
    cxy = cov[:, 0, 1]
    cyy = cov[:, 1, 1] + EPS2D
    det = cxx * cyy - cxy * cxy
    ok = in_front & (det > 0)
    det_s = torch.where(ok, det, torch.ones_like(det))
    det_raw = cov[:, 0, 0] * cov[:, 1, 1] - cxy * cxy
    # clamped away from 0 so that sqrt's gradient stays finite (1e-6: a Gaussian that fades out)
    compensation = torch.sqrt((det_raw / det_s).clamp_min(1e-12))
    conics = torch.stack([cyy / det_s, -cxy / det_s, cxx / det_s], dim=-1)
    means2d = torch.stack([fx * x / zs + cx, fy * y / zs + cy], dim=-1)
    return Projected(
        means2d=means2d,
        conics=conics,
        cov2d=torch.stack([cxx, cxy, cyy], dim=-1),
        depths=z,
        visible=ok,
        compensation=compensation,
    )


def extents(cov2d: Tensor, opacities: Tensor) -> Tensor:
    """Per-axis pixel half-extent beyond which alpha < 1/255: sqrt(2 ln(255 o)) sigma, up to
    3.33 sigma (gsplat cuts at 3 sigma; beyond it an opaque Gaussian's alpha is still up to 0.011)."""
    k = torch.sqrt(2.0 * torch.log((255.0 * opacities).clamp_min(1.0)))
    return torch.stack([k * cov2d[:, 0].sqrt(), k * cov2d[:, 2].sqrt()], dim=-1)
