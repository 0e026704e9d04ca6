"""gsplat's two rendering options on every backend: anti-aliased rendering (opacity times the
compensation of the 0.3 px dilation) and absgrad (sum of absolute per-pixel gradients of the 2D
means). The compiled and PyTorch backends against the per-pixel reference (float64, images,
gradients and absgrad), float64 gradcheck of the anti-aliased path, float32 parity between the
two CPU backends, the arguments passed to gsplat, and the hyperparameters that select them."""

from __future__ import annotations

import shutil
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor

from gs_trainer.backends import RenderMode, RenderOutput, rasterize, screen_grad
from gs_trainer.backends.cpp_tiles import rasterize_cpp
from gs_trainer.backends.projection import EPS2D, project
from gs_trainer.backends.reference import reference_render
from gs_trainer.backends.torch_tiles import rasterize_torch
from gs_trainer.config import ABSGRAD_GROW_GRAD2D, ConfigError, parse_hyperparameters

from gs_scenes import camera, random_scene

PARAMS = ("means", "quats", "scales", "opacities", "sh")
AA = RenderMode(antialiased=True)
ABS = RenderMode(absgrad=True)
BOTH = RenderMode(antialiased=True, absgrad=True)
BACKENDS = ["torch"] + (["cpp"] if shutil.which("g++") and shutil.which("ninja") else [])


def _small(n: int, seed: int, dtype: torch.dtype = torch.float64) -> dict[str, Tensor]:
    """Gaussians of about a pixel and under, where the compensation is far from 1."""
    scene = {k: v.to(dtype) for k, v in random_scene(n, seed=seed).items()}
    scene["scales"] = scene["scales"] * 0.15
    return scene


Args = tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, int, int, int, Tensor]


def _args(scene: dict[str, Tensor], w: int, h: int, bg: Tensor) -> Args:
    vm, K = camera(w, h, scene["means"].dtype)
    return (scene["means"], scene["quats"], scene["scales"], scene["opacities"], scene["sh"], vm, K, w, h, 1, bg)


def _run(backend: str, scene: dict[str, Tensor], w: int, h: int, bg: Tensor, mode: RenderMode) -> tuple[Tensor, Tensor, dict[str, Tensor], Tensor | None]:
    """Image, alpha, parameter gradients of a fixed weighted loss, and absgrad [N, 2] when asked."""
    g = torch.Generator().manual_seed(0)
    weights = torch.rand(h, w, 3, dtype=scene["means"].dtype, generator=g) - 0.5  # gradients of both signs
    leaves = {k: v.clone().requires_grad_(True) for k, v in scene.items()}
    args = _args(leaves, w, h, bg)
    absgrad = None
    if backend == "reference":
        offsets = torch.zeros(w * h, scene["means"].shape[0], 2, dtype=scene["means"].dtype, requires_grad=True)
        img, alpha = reference_render(*args, mode=mode, pixel_offsets=offsets if mode.absgrad else None)
    else:
        out = (rasterize_cpp if backend == "cpp" else rasterize_torch)(*args, mode=mode)
        img, alpha = out.image, out.alpha
    ((img * weights).sum() + alpha.square().sum()).backward()
    if backend == "reference" and mode.absgrad:
        assert offsets.grad is not None
        absgrad = offsets.grad.abs().sum(0)
    elif backend != "reference":
        absgrad = out.absgrad
    grads = {k: v.grad for k, v in leaves.items()}
    return img.detach(), alpha.detach(), {k: g for k, g in grads.items() if g is not None}, absgrad


def test_compensation_is_gsplats() -> None:
    scene = _small(30, seed=1)
    vm, K = camera(40, 30)
    p = project(scene["means"], scene["quats"], scene["scales"], vm, K, 40, 30)
    xx, xy, yy = p.cov2d.unbind(-1)
    raw_det = (xx - EPS2D) * (yy - EPS2D) - xy * xy
    want = torch.sqrt(raw_det / (xx * yy - xy * xy))
    torch.testing.assert_close(p.compensation[p.visible], want[p.visible])
    assert float(p.compensation[p.visible].min()) < 0.5 and float(p.compensation.max()) <= 1.0


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", [AA, ABS, BOTH], ids=["antialiased", "absgrad", "both"])
def test_matches_reference_float64(backend: str, mode: RenderMode) -> None:
    scene = _small(30, seed=2)
    bg = torch.tensor([0.2, 0.1, 0.4], dtype=torch.float64)
    img, alpha, grads, absgrad = _run(backend, scene, 37, 29, bg, mode)
    r_img, r_alpha, r_grads, r_absgrad = _run("reference", scene, 37, 29, bg, mode)
    torch.testing.assert_close(img, r_img, atol=1e-10, rtol=0)
    torch.testing.assert_close(alpha, r_alpha, atol=1e-10, rtol=0)
    for k in PARAMS:
        assert float(grads[k].abs().max()) > 0, k
        torch.testing.assert_close(grads[k], r_grads[k], atol=1e-8, rtol=1e-6, msg=k)
    if mode.absgrad:
        assert absgrad is not None and r_absgrad is not None
        assert float(r_absgrad.max()) > 0
        torch.testing.assert_close(absgrad, r_absgrad, atol=1e-8, rtol=1e-6)
    else:
        assert absgrad is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_antialiased_differs_from_classic_and_absgrad_changes_nothing(backend: str) -> None:
    scene = _small(30, seed=3)
    bg = torch.zeros(3, dtype=torch.float64)
    classic = _run(backend, scene, 37, 29, bg, RenderMode())
    aa = _run(backend, scene, 37, 29, bg, AA)
    assert float(aa[1].sum()) < 0.9 * float(classic[1].sum())  # small Gaussians lose coverage
    ab = _run(backend, scene, 37, 29, bg, ABS)
    assert torch.equal(ab[0], classic[0])
    for k in PARAMS:  # the compiled backward's absgrad variant may contract other multiply-adds
        torch.testing.assert_close(ab[2][k], classic[2][k], atol=1e-12, rtol=1e-12, msg=k)


@pytest.mark.parametrize("backend", BACKENDS)
def test_absgrad_bounds_the_gradient(backend: str) -> None:
    """|sum of per-pixel parts| <= sum of their absolute values, strictly where signs differ."""
    scene = random_scene(40, seed=4)
    scene["means"].requires_grad_(True)
    out = (rasterize_cpp if backend == "cpp" else rasterize_torch)(*_args(scene, 33, 25, torch.zeros(3, dtype=torch.float64)), mode=ABS)
    weights = torch.rand(25, 33, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) - 0.5
    (out.image * weights).sum().backward()
    grad, absgrad = screen_grad(out, False), screen_grad(out, True)
    assert grad is not None and absgrad is not None and absgrad is out.absgrad
    assert bool((absgrad >= grad.abs() - 1e-12).all())
    assert float((absgrad - grad.abs()).max()) > 1e-3


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradcheck_antialiased_float64(backend: str) -> None:
    scene = _small(6, seed=5)
    scene["scales"] = scene["scales"] * 3  # compensation between 0.3 and 0.95: every term matters
    bg = torch.tensor([0.2, 0.4, 0.1], dtype=torch.float64, requires_grad=True)
    vm, K = camera(18, 14)
    fn = rasterize_cpp if backend == "cpp" else rasterize_torch

    def f(*xs: Tensor) -> tuple[Tensor, Tensor]:
        p = dict(zip(PARAMS, xs[:5]))
        out = fn(p["means"], p["quats"], p["scales"], p["opacities"], p["sh"], vm, K, 18, 14, 1, xs[5], mode=BOTH)
        return out.image, out.alpha

    inputs = tuple(scene[k].clone().requires_grad_(True) for k in PARAMS) + (bg,)
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-4)


@pytest.mark.skipif("cpp" not in BACKENDS, reason="no g++/ninja: the compiled backend cannot be built here")
def test_float32_cpp_matches_torch() -> None:
    scene = {k: v.float() for k, v in random_scene(300, seed=6).items()}
    scene["scales"] = scene["scales"] * 0.3
    bg = torch.zeros(3)
    a, b = _run("cpp", scene, 70, 53, bg, BOTH), _run("torch", scene, 70, 53, bg, BOTH)
    torch.testing.assert_close(a[0], b[0], atol=2e-5, rtol=0)
    for k in PARAMS:
        scale = float(b[2][k].abs().max())
        torch.testing.assert_close(a[2][k], b[2][k], atol=1e-3 * scale, rtol=0, msg=k)
    assert a[3] is not None and b[3] is not None
    torch.testing.assert_close(a[3], b[3], atol=1e-3 * float(b[3].abs().max()), rtol=0)


def test_gsplat_gets_the_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CUDA path passes gsplat's own arguments, and densification reads gsplat's means2d.absgrad."""
    calls: list[dict[str, Any]] = []

    def rasterization(**kw: Any) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        calls.append(kw)
        n = kw["means"].shape[0]
        means2d = torch.zeros(1, n, 2, requires_grad=True)
        img = torch.zeros(1, kw["height"], kw["width"], 3) + means2d.sum()
        return img, torch.zeros(1, kw["height"], kw["width"], 1), {"means2d": means2d, "radii": torch.ones(1, n, dtype=torch.int32)}

    monkeypatch.setitem(sys.modules, "gsplat", types.SimpleNamespace(rasterization=rasterization))
    scene = random_scene(5, seed=7, dtype=torch.float32)
    args = _args(scene, 16, 12, torch.zeros(3))
    outs: list[RenderOutput] = [rasterize("gsplat", *args, mode=m) for m in (RenderMode(), AA, ABS)]
    assert [(c["rasterize_mode"], c["absgrad"]) for c in calls] == [("classic", False), ("antialiased", False), ("classic", True)]
    assert all(c["eps2d"] == 0.3 and c["packed"] is False for c in calls)
    with pytest.raises(RuntimeError, match="absgrad requested"):
        screen_grad(outs[2], True)
    marked = torch.full((1, 5, 2), 3.0)
    outs[2].means2d.absgrad = marked  # type: ignore[attr-defined]  # what gsplat's backward sets
    assert screen_grad(outs[2], True) is marked


def test_hyperparameters() -> None:
    cfg = parse_hyperparameters({"absgrad": "true", "rasterize_mode": "antialiased"})
    assert cfg.absgrad and cfg.rasterize_mode == "antialiased" and cfg.grow_grad2d == ABSGRAD_GROW_GRAD2D
    assert parse_hyperparameters({"absgrad": "true", "grow_grad2d": "0.0005"}).grow_grad2d == 0.0005
    assert parse_hyperparameters({}).grow_grad2d == 0.0002 and not parse_hyperparameters({}).absgrad
    with pytest.raises(ConfigError, match="'rasterize_mode' must be one of classic, antialiased"):
        parse_hyperparameters({"rasterize_mode": "mip"})
    with pytest.raises(ConfigError, match="'absgrad' applies to the default densification strategy only .strategy=mcmc"):
        parse_hyperparameters({"absgrad": "1", "strategy": "mcmc"})
    with pytest.raises(ConfigError, match="'absgrad' .*densify is off"):
        parse_hyperparameters({"absgrad": "yes", "densify": "false"})
    with pytest.raises(ConfigError, match="'absgrad' must be true or false"):
        parse_hyperparameters({"absgrad": "maybe"})


def test_training_densifies_on_absgrad(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The trainer hands densification the absolute sums when absgrad is on, means2d.grad otherwise."""
    from gs_trainer.data import load_scene
    from gs_trainer.strategy import DefaultStrategy
    from gs_trainer.train import Trainer

    from gs_synthetic import make_scene

    make_scene(tmp_path)
    seen: list[Tensor] = []
    real = DefaultStrategy.update_state

    def spy(self: DefaultStrategy, state: Any, grad: Tensor, *rest: Any) -> None:
        seen.append(grad.clone())
        real(self, state, grad, *rest)

    monkeypatch.setattr(DefaultStrategy, "update_state", spy)
    sums = {}
    for absgrad in (False, True):
        hyper = {"quality": "preview", "steps": "4", "resolution_scale": "1", "num_downscales": "0", "absgrad": str(absgrad),
                 "rasterize_mode": "antialiased", "refine_start": "0", "refine_every": "2", "checkpoint_every": "0", "threads": "1"}
        cfg = parse_hyperparameters(hyper)
        trainer = Trainer(cfg, load_scene(tmp_path, cfg), torch.device("cpu"), "torch")
        trainer.init()
        seen.clear()
        trainer.train(None)
        assert len(seen) == 4
        sums[absgrad] = float(seen[0].abs().sum())
    assert sums[True] > sums[False] > 0
