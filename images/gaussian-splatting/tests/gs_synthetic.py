"""A synthetic survey with known cameras: a random Gaussian 'terrain' rendered from a grid of
nadir-ish cameras, written as an SfM stage output (COLMAP PINHOLE model + PNG images)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gs_trainer.backends.torch_tiles import rasterize_torch
from gs_trainer.colmap import Camera, Image as ColmapImage, Model, Points, rotmat_to_qvec, write_model
from gs_trainer.sh import rgb_to_sh0

from gs_scenes import look_at


def make_scene(out: Path, n_images: int = 16, width: int = 64, height: int = 48, seed: int = 0, n_points: int = 600) -> dict[str, object]:
    g = torch.Generator().manual_seed(seed)
    # ground: Gaussians on a gently curved surface, z up; colours in smooth patches
    xy = (torch.rand(n_points, 2, generator=g) - 0.5) * 2.4
    z = 0.15 * torch.sin(2.0 * xy[:, :1]) * torch.cos(1.5 * xy[:, 1:])
    means = torch.cat([xy, z], dim=1)
    base = torch.stack([0.5 + 0.4 * torch.sin(3 * xy[:, 0]), 0.5 + 0.4 * torch.cos(2 * xy[:, 1]), 0.5 + 0.3 * torch.sin(xy[:, 0] + xy[:, 1])], 1)
    colors = (base + 0.15 * torch.randn(n_points, 3, generator=g)).clamp(0.02, 0.98)
    scales = torch.exp(torch.randn(n_points, 3, generator=g) * 0.3) * torch.tensor([0.09, 0.09, 0.02])
    quats = torch.cat([torch.ones(n_points, 1), 0.2 * torch.randn(n_points, 3, generator=g)], 1)
    opac = torch.full((n_points,), 0.9)
    sh = rgb_to_sh0(colors)[:, None, :]
    f = 0.9 * width
    K = torch.tensor([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1.0]])
    images: dict[int, ColmapImage] = {}
    (out / "images").mkdir(parents=True, exist_ok=True)
    side = math.ceil(math.sqrt(n_images))
    for i in range(n_images):
        r, c = divmod(i, side)
        eye = torch.tensor([(c - (side - 1) / 2) * 0.35, (r - (side - 1) / 2) * 0.35, 2.2])
        target = torch.tensor([eye[0] * 0.6, eye[1] * 0.6, 0.0])
        vm = look_at(eye.double(), target.double(), torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)).float()
        with torch.no_grad():
            img = rasterize_torch(means, quats, scales, opac, sh, vm, K, width, height, 0, torch.zeros(3)).image
        name = f"view_{i:03d}.png"
        Image.fromarray((img.clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)).save(out / "images" / name)
        R = vm[:3, :3].double().numpy()
        images[i + 1] = ColmapImage(i + 1, rotmat_to_qvec(R), vm[:3, 3].double().numpy(), 1, name)
    # SfM-like points: a subset of the centres, with noise, and noisy colours
    sel = torch.randperm(n_points, generator=g)[: n_points // 2]
    pts = means[sel] + 0.03 * torch.randn(len(sel), 3, generator=g)
    rgb = ((colors[sel] + 0.1 * torch.randn(len(sel), 3, generator=g)).clamp(0, 1) * 255).round().to(torch.uint8)
    model = Model(
        cameras={1: Camera(1, "PINHOLE", width, height, np.array([f, f, width / 2, height / 2], dtype=np.float64))},
        images=images,
        points=Points(pts.double().numpy(), rgb.numpy(), np.zeros(len(sel))),
    )
    write_model(out / "sparse" / "0", model)
    report: dict[str, object] = {"synthetic": True, "images": n_images}
    (out / "report.json").write_text(json.dumps(report))
    return report


def opt_ml(root: Path, sfm_src: Path, hyper: dict[str, str]) -> Path:
    """Lays out a SageMaker training tree under root with the sfm channel linked to sfm_src."""
    (root / "input" / "data").mkdir(parents=True, exist_ok=True)
    (root / "input" / "config").mkdir(parents=True, exist_ok=True)
    link = root / "input" / "data" / "sfm"
    if not link.exists():
        link.symlink_to(sfm_src)
    (root / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hyper))
    return root
