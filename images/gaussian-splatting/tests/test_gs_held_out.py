"""Held-out scoring under exposure compensation (held_out.py, exposure.fit_to_photo): a held-out
photo shot brighter or darker than the training photos is not scored as a blur, and a blur stays
a blur after the fit."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from gs_trainer.config import parse_hyperparameters
from gs_trainer.data import load_scene
from gs_trainer.exposure import fit_to_photo
from gs_trainer.metrics import psnr
from gs_trainer.quality import warnings_for
from gs_trainer.train import Trainer

from gs_synthetic import make_scene


def _photo(seed: int = 0) -> torch.Tensor:
    """[48, 64, 3]: smooth colour regions with pixel-scale texture on them."""
    g = torch.Generator().manual_seed(seed)
    base = F.interpolate(torch.rand(1, 3, 6, 8, generator=g), size=(48, 64), mode="bilinear", align_corners=False)
    return (base[0].permute(1, 2, 0) * 0.6 + 0.15 + 0.1 * torch.rand(48, 64, 3, generator=g)).clamp(0, 1)


def _blur(img: torch.Tensor) -> torch.Tensor:
    x = img.permute(2, 0, 1)[None]
    return F.avg_pool2d(x, 5, stride=1, padding=2, count_include_pad=False)[0].permute(1, 2, 0)


def test_channel_fit_undoes_a_gain_and_offset_per_channel() -> None:
    photo = _photo()
    render = (photo - torch.tensor([0.02, 0.0, 0.05])) / torch.tensor([1.3, 1.1, 0.9])  # the photo is brighter
    assert psnr(render, photo) < 25
    assert psnr(fit_to_photo(render, photo, "channel"), photo) > 60


def test_affine_fit_undoes_a_colour_matrix() -> None:
    photo = _photo(1)
    M = torch.tensor([[1.1, 0.1, 0.0], [0.05, 0.9, 0.05], [0.0, 0.1, 1.0]])
    render = (photo - 0.03) @ torch.linalg.inv(M).T
    assert psnr(fit_to_photo(render, photo, "channel"), photo) < psnr(fit_to_photo(render, photo, "affine"), photo) - 10
    assert psnr(fit_to_photo(render, photo, "affine"), photo) > 60


def test_a_blur_stays_a_blur_after_the_fit() -> None:
    photo = _photo(2)
    blurred = _blur(photo)
    at_its_exposure = psnr(blurred, photo)
    darker = blurred * 0.6  # the same blur, rendered a stop and less darker than the photo
    assert psnr(darker, photo) < at_its_exposure - 5
    # the fit sees through the exposure and wins nothing back from the blur
    for model in ("channel", "affine"):
        assert abs(psnr(fit_to_photo(darker, photo, model), photo) - at_its_exposure) < 0.3
        assert psnr(fit_to_photo(blurred, photo, model), photo) < at_its_exposure + 0.3


def test_fit_rejects_an_unknown_model() -> None:
    with pytest.raises(ValueError, match="unknown exposure model 'gamma'"):
        fit_to_photo(_photo(), _photo(), "gamma")


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("sfm")
    make_scene(d, n_images=8, seed=3)
    return d


def test_a_brighter_held_out_photo_is_not_scored_as_a_blur(scene_dir: Path) -> None:
    """Held-out photos replaced by the model's own renders (so the model is exact), then
    brightened as auto exposure would: at the mean exposure they score as a blur would; with the
    photo's exposure fitted, as what they are."""
    hyper = {"quality": "preview", "resolution_scale": "1", "holdout_every": "4"}
    scene = load_scene(scene_dir, parse_hyperparameters(hyper))
    tr = Trainer(parse_hyperparameters({**hyper, "exposure_compensation": "channel"}), scene, torch.device("cpu"), "torch")
    tr.init()
    with torch.no_grad():
        for view in scene.test:
            view.pixels = (tr.render(view, 0).image.clamp(0, 1) * 255).round().to(torch.uint8)
    exact = tr.evaluate()
    assert exact["exposure_fitted"] == "channel" and exact["psnr_at_mean_exposure"] > 45 and exact["psnr"] > 45
    for view in scene.test:
        view.pixels = (view.pixels.float() * 1.4 + 6).clamp(0, 255).round().to(torch.uint8)
    brighter = tr.evaluate()
    assert brighter["psnr_at_mean_exposure"] < 25
    assert brighter["psnr"] > 40
    assert [r["image"] for r in brighter["images"]] == [v.name for v in scene.test]
    assert all(r["psnr"] > r["psnr_at_mean_exposure"] for r in brighter["images"])
    assert warnings_for(brighter, "preview", 30.0, 0.0) == []
    assert warnings_for({**brighter, "psnr": brighter["psnr_at_mean_exposure"]}, "preview", 30.0, 0.0)[0]["code"] == "model_blurry"
    # with compensation off nothing is fitted: one figure
    off = Trainer(parse_hyperparameters({**hyper, "exposure_compensation": "off"}), scene, torch.device("cpu"), "torch")
    off.init()
    ev = off.evaluate()
    assert ev["exposure_fitted"] is None and "psnr_at_mean_exposure" not in ev
    assert "psnr_at_mean_exposure" not in ev["images"][0]


def _gauss_blur(img: torch.Tensor, sigma: float) -> torch.Tensor:
    r = int(3 * sigma) + 1
    x = torch.arange(-r, r + 1, dtype=img.dtype)
    k = torch.exp(-x * x / (2 * sigma * sigma))
    k = k / k.sum()
    t = img.permute(2, 0, 1)[:, None]
    t = F.conv2d(F.pad(t, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    t = F.conv2d(F.pad(t, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1))
    return t[:, 0].permute(1, 2, 0)


def test_equivalent_blur_measures_blur_against_the_photos_own_detail() -> None:
    from gs_trainer.metrics import BLUR_CAP, equivalent_blur

    g = torch.Generator().manual_seed(4)
    photo = _gauss_blur(torch.rand(120, 160, 3, generator=g, dtype=torch.float64), 1.0)
    assert equivalent_blur(photo, photo) == 0.0
    for sigma in (1.0, 2.5, 6.0):  # a known blur is recovered, in px of the 160 px width
        assert abs(equivalent_blur(_gauss_blur(photo, sigma), photo) * 160 - sigma) < 0.1 * sigma
    # low contrast: the same structure at a tenth of the contrast; its flat mean colour scores a
    # high PSNR and the largest blur
    faint = 0.5 + 0.1 * (photo - 0.5)
    flat = faint.mean((0, 1), keepdim=True).expand_as(faint)
    assert psnr(flat, faint) > 25
    assert equivalent_blur(flat, faint) == BLUR_CAP
    # larger photos are measured area-averaged to at most 400 px: the figure is a share of the width
    big = _gauss_blur(torch.rand(300, 800, 3, generator=g, dtype=torch.float64), 2.0)
    assert abs(equivalent_blur(_gauss_blur(big, 8.0), big) - 8.0 / 800) < 0.0015


def test_a_smooth_model_of_a_low_contrast_site_is_reported_blurry() -> None:
    rows = [{"image": "a.jpg", "psnr": 26.4, "ssim": 0.89, "coverage": 1.0, "equivalent_blur": 0.25}]
    ev = {"psnr": 26.4, "ssim": 0.89, "coverage": 1.0, "equivalent_blur": 0.16, "images": rows}
    (w,) = warnings_for(ev, "preview", 20.0, 0.75, 0.05)
    assert w["code"] == "model_blurry"
    assert w["message"] == (
        "the model is blurry: the held-out photos are matched only by themselves blurred over 16% of their width "
        "(above 5%; held-out 26.4 dB); try quality standard"
    )
    assert warnings_for({**ev, "equivalent_blur": 0.012}, "preview", 20.0, 0.75, 0.05) == []
    assert warnings_for(ev, "preview", 20.0, 0.75, 0.0) == []  # blur_floor 0: no blur check
    # under the PSNR floor too: one warning, the PSNR's
    (low,) = warnings_for({**ev, "psnr": 15.0}, "preview", 20.0, 0.75, 0.05)
    assert low["message"].startswith("the model is blurry: held-out 15.0 dB (below 20 dB")
