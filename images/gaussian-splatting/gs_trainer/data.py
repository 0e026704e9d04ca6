"""Training views from the SfM stage's output: COLMAP model + undistorted images."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from PIL import Image as PILImage
from torch import Tensor

from .colmap import ColmapError, Model, read_model
from .config import Config
from .exposure import PhotoExposure, read_photo_exposure


class DataError(ValueError):
    pass


@dataclass
class View:
    index: int
    name: str  # file name in images/
    stem: str  # img_name in cameras.json, render file names
    viewmat: Tensor  # [4, 4] world-to-camera (OpenCV axes), float32
    K: Tensor  # [3, 3] at training resolution
    width: int
    height: int
    full_width: int
    full_height: int
    full_K: NDArray[np.float64]
    pixels: Tensor  # [H, W, 3] uint8 at training resolution
    held_out: bool
    photo: PhotoExposure = field(default_factory=PhotoExposure)  # EXIF exposure settings
    _pyramid: dict[int, View] = field(default_factory=dict, repr=False, compare=False)

    def image(self, device: torch.device) -> Tensor:
        return self.pixels.to(device).float() / 255.0

    def downscaled(self, factor: int) -> View:
        """This view at 1/factor of the training resolution (area-averaged pixels, scaled
        intrinsics), for coarse-to-fine training; cached, as each level is used many times."""
        if factor <= 1:
            return self
        if factor not in self._pyramid:
            w, h = max(1, self.width // factor), max(1, self.height // factor)
            small = PILImage.fromarray(self.pixels.numpy()).resize((w, h), PILImage.Resampling.BOX)
            K = self.K.clone()
            K[0] *= w / self.width
            K[1] *= h / self.height
            pixels = torch.from_numpy(np.asarray(small, dtype=np.uint8).copy())
            self._pyramid[factor] = replace(self, K=K, width=w, height=h, pixels=pixels, _pyramid={})
        return self._pyramid[factor]


@dataclass
class Scene:
    views: list[View]
    points: Tensor  # [N, 3] float32
    colors: Tensor  # [N, 3] float32 in [0, 1]
    scene_scale: float

    @property
    def train(self) -> list[View]:
        return [v for v in self.views if not v.held_out]

    @property
    def test(self) -> list[View]:
        return [v for v in self.views if v.held_out]


def find_sparse_dir(sfm_dir: Path) -> Path:
    for cand in (sfm_dir / "sparse" / "0", sfm_dir / "sparse", sfm_dir):
        if (cand / "images.bin").is_file():
            return cand
    raise DataError(
        f"no COLMAP model found in {sfm_dir}: expected sparse/0/{{cameras,images,points3D}}.bin from the SfM stage"
    )


def target_size(w: int, h: int, cfg: Config) -> tuple[int, int]:
    s = cfg.resolution_scale
    if cfg.max_image_size > 0:
        s = min(s, cfg.max_image_size / max(w, h))
    return max(1, round(w * s)), max(1, round(h * s))


def held_out_names(names: list[str], cfg: Config) -> set[str]:
    if cfg.holdout:
        stems = {Path(n).stem: n for n in names}
        out = set()
        for h in cfg.holdout:
            if h in names:
                out.add(h)
            elif h in stems:
                out.add(stems[h])
            else:
                raise DataError(f"hyperparameter 'holdout' names {h}, which is not an image of the SfM model")
        return out
    if cfg.holdout_every <= 0:
        return set()
    return {n for i, n in enumerate(sorted(names)) if i % cfg.holdout_every == 0}


def load_scene(sfm_dir: Path, cfg: Config) -> Scene:
    if not sfm_dir.is_dir():
        raise DataError(f"input channel 'sfm' is missing: {sfm_dir} does not exist")
    sparse = find_sparse_dir(sfm_dir)
    try:
        model: Model = read_model(sparse)
    except ColmapError as e:
        raise DataError(str(e)) from None
    if len(model.points.xyz) == 0:
        raise DataError("SfM model has 0 points: nothing to initialise the Gaussians from")
    if len(model.images) < 2:
        raise DataError(f"SfM model has {len(model.images)} registered image(s); training needs at least 2")
    image_dir = sfm_dir / "images"
    names = sorted(im.name for im in model.images.values())
    held = held_out_names(names, cfg)
    if len(held) >= len(names):
        raise DataError("every image is held out: lower 'holdout_every' or shorten 'holdout'")
    by_name = {im.name: im for im in model.images.values()}
    views: list[View] = []
    for i, name in enumerate(names):
        im = by_name[name]
        cam = model.cameras.get(im.camera_id)
        if cam is None:
            raise DataError(f"image {name} refers to camera {im.camera_id}, which the model does not have")
        try:
            fx, fy, cx, cy = cam.intrinsics()
        except ColmapError as e:
            raise DataError(str(e)) from None
        path = image_dir / name
        if not path.is_file():
            raise DataError(f"image {name} of the SfM model is missing from {image_dir}")
        with PILImage.open(path) as pil:
            photo = read_photo_exposure(pil)
            rgb = pil.convert("RGB")
            if rgb.size != (cam.width, cam.height):
                raise DataError(
                    f"image {name} is {rgb.size[0]}x{rgb.size[1]} but its camera says {cam.width}x{cam.height}"
                )
            w, h = target_size(cam.width, cam.height, cfg)
            if (w, h) != rgb.size:
                rgb = rgb.resize((w, h), PILImage.Resampling.LANCZOS)
        sx, sy = w / cam.width, h / cam.height
        K = torch.tensor([[fx * sx, 0, cx * sx], [0, fy * sy, cy * sy], [0, 0, 1]], dtype=torch.float32)
        full_K = np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]], dtype=np.float64)
        views.append(
            View(
                index=i,
                name=name,
                stem=Path(name).stem,
                viewmat=torch.from_numpy(im.world_to_camera()).float(),
                K=K,
                width=w,
                height=h,
                full_width=cam.width,
                full_height=cam.height,
                full_K=full_K,
                pixels=torch.from_numpy(np.asarray(rgb, dtype=np.uint8).copy()),
                held_out=name in held,
                photo=photo,
            )
        )
    centers = torch.stack([-(v.viewmat[:3, :3].T @ v.viewmat[:3, 3]) for v in views])
    scene_scale = float((centers - centers.mean(0)).norm(dim=1).max()) * 1.1
    if scene_scale <= 0:
        scene_scale = 1.0
    return Scene(
        views=views,
        points=torch.from_numpy(model.points.xyz).float(),
        colors=torch.from_numpy(model.points.rgb).float() / 255.0,
        scene_scale=scene_scale,
    )
