"""Small scenes and cameras for the gaussian-splatting tests."""

from __future__ import annotations

import torch
from torch import Tensor


def look_at(eye: Tensor, target: Tensor, up: Tensor) -> Tensor:
    """World-to-camera 4x4 (OpenCV: x right, y down, z forward)."""
    z = target - eye
    z = z / z.norm()
    x = torch.linalg.cross(z, up)
    x = x / x.norm()
    y = torch.linalg.cross(z, x)
    R = torch.stack([x, y, z])  # rows: camera axes in world
    vm = torch.eye(4, dtype=eye.dtype)
    vm[:3, :3] = R
    vm[:3, 3] = -R @ eye
    return vm


def random_scene(n: int, seed: int, dtype: torch.dtype = torch.float64, sh_degree: int = 1) -> dict[str, Tensor]:
    g = torch.Generator().manual_seed(seed)
    k = (sh_degree + 1) ** 2
    return {
        "means": (torch.rand(n, 3, generator=g, dtype=dtype) - 0.5) * torch.tensor([1.6, 1.2, 0.6], dtype=dtype),
        "quats": torch.randn(n, 4, generator=g, dtype=dtype),
        "scales": torch.rand(n, 3, generator=g, dtype=dtype) * 0.12 + 0.04,
        "opacities": torch.rand(n, generator=g, dtype=dtype) * 0.7 + 0.2,
        "sh": torch.randn(n, k, 3, generator=g, dtype=dtype) * 0.4,
    }


def camera(width: int, height: int, dtype: torch.dtype = torch.float64, eye: tuple[float, float, float] = (0.2, -0.3, -3.0)) -> tuple[Tensor, Tensor]:
    f = 0.9 * width
    K = torch.tensor([[f, 0, width / 2 + 0.3], [0, f, height / 2 - 0.2], [0, 0, 1]], dtype=dtype)
    vm = look_at(torch.tensor(eye, dtype=dtype), torch.zeros(3, dtype=dtype), torch.tensor([0.0, -1.0, 0.0], dtype=dtype))
    return vm, K

