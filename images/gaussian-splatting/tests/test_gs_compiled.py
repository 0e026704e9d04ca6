"""Compiled CPU backend: float64 gradcheck, agreement with the per-pixel reference and with the
PyTorch backend (images and gradients), determinism across thread counts, automatic choice;
its tile binning (the PyTorch binning's lists exactly) and fused SSIM (metrics.ssim's value and
gradient, float64 gradcheck)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
import torch
from torch import Tensor

from gs_trainer.backends import compiled, resolve_backend
from gs_trainer.backends.cpp_ssim import ssim_cpp
from gs_trainer.backends.cpp_tiles import bin_tiles_cpp, rasterize_cpp
from gs_trainer.backends.cpu_common import Binner, Kernels, TileLists, bin_tiles, prepare
from gs_trainer.backends.reference import reference_render
from gs_trainer.backends.torch_tiles import rasterize_torch
from gs_trainer.metrics import loss_fn, ssim

from gs_scenes import camera, random_scene

PARAMS = ("means", "quats", "scales", "opacities", "sh")
# Only a machine without the toolchain may skip; where g++ and ninja exist the build must work.
if shutil.which("g++") is None or shutil.which("ninja") is None:
    pytest.skip("no g++/ninja on this machine: the compiled backend cannot be built here", allow_module_level=True)


@pytest.fixture(scope="module", autouse=True)
def built() -> None:
    st = compiled.load()
    assert st.ok, st.message


def _render(backend: str, scene: dict[str, Tensor], w: int, h: int, bg: Tensor, sh_degree: int = 1) -> tuple[Tensor, Tensor]:
    vm, K = camera(w, h, scene["means"].dtype)
    args = (scene["means"], scene["quats"], scene["scales"], scene["opacities"], scene["sh"], vm, K, w, h, sh_degree, bg)
    if backend == "reference":
        return reference_render(*args)
    out = (rasterize_cpp if backend == "cpp" else rasterize_torch)(*args)
    return out.image, out.alpha


def _grads(backend: str, scene: dict[str, Tensor], w: int, h: int, bg: Tensor) -> dict[str, Tensor]:
    weights = torch.rand(h, w, 3, dtype=scene["means"].dtype, generator=torch.Generator().manual_seed(0))
    leaves = {k: v.clone().requires_grad_(True) for k, v in scene.items()}
    img, alpha = _render(backend, leaves, w, h, bg)
    ((img * weights).sum() + alpha.square().sum()).backward()
    out = {k: v.grad for k, v in leaves.items()}
    assert all(g is not None for g in out.values())
    return {k: g for k, g in out.items() if g is not None}


def _saturated(n: int, seed: int) -> dict[str, Tensor]:
    """Alphas clamped at 0.99 and pixels that stop early (transmittance < 1e-4)."""
    scene = random_scene(n, seed=seed)
    scene["opacities"] = 0.97 + 0.029 * torch.rand(n, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    scene["scales"] = scene["scales"] * 2.5
    return scene


def test_forward_matches_reference_float64() -> None:
    # 37x29 crosses tile borders and has partial tiles; 40 Gaussians overlap heavily.
    scene = random_scene(40, seed=1)
    bg = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64)
    img, alpha = _render("cpp", scene, 37, 29, bg)
    ref_img, ref_alpha = _render("reference", scene, 37, 29, bg)
    assert img.shape == (29, 37, 3) and float(alpha.max()) > 0.5
    torch.testing.assert_close(img, ref_img, atol=1e-10, rtol=0)
    torch.testing.assert_close(alpha, ref_alpha, atol=1e-10, rtol=0)


@pytest.mark.parametrize("saturated", [False, True])
def test_backward_matches_reference_float64(saturated: bool) -> None:
    scene = _saturated(25, 2) if saturated else random_scene(25, seed=2)
    bg = torch.tensor([0.3, 0.1, 0.5], dtype=torch.float64)
    ours, ref = _grads("cpp", scene, 33, 21, bg), _grads("reference", scene, 33, 21, bg)
    if saturated:
        _, alpha = _render("cpp", scene, 33, 21, bg)
        assert float((1 - alpha).min()) < 1e-3  # the early stop really happens
    for k in PARAMS:
        assert float(ours[k].abs().max()) > 0, k
        torch.testing.assert_close(ours[k], ref[k], atol=1e-8, rtol=1e-6, msg=k)


def test_gradcheck_float64() -> None:
    scene = random_scene(6, seed=5)
    bg = torch.tensor([0.2, 0.4, 0.1], dtype=torch.float64, requires_grad=True)
    vm, K = camera(18, 14)

    def f(*xs: Tensor) -> tuple[Tensor, Tensor]:
        p = dict(zip(PARAMS, xs[:5]))
        out = rasterize_cpp(p["means"], p["quats"], p["scales"], p["opacities"], p["sh"], vm, K, 18, 14, 1, xs[5])
        return out.image, out.alpha

    inputs = tuple(scene[k].clone().requires_grad_(True) for k in PARAMS) + (bg,)
    # every element of every input, background included
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("saturated", [False, True])
def test_float32_matches_torch_backend(saturated: bool) -> None:
    """Training precision: images to 2e-5, gradients to 1e-3 relative to their largest entry."""
    scene = _saturated(300, 3) if saturated else random_scene(300, seed=3)
    scene = {k: v.float() for k, v in scene.items()}
    scene["scales"] = scene["scales"] * 0.5
    bg = torch.tensor([0.0, 0.0, 0.0])
    w, h = 70, 53
    for a, b in zip(_render("cpp", scene, w, h, bg), _render("torch", scene, w, h, bg)):
        torch.testing.assert_close(a, b, atol=2e-5, rtol=0)
    ours, theirs = _grads("cpp", scene, w, h, bg), _grads("torch", scene, w, h, bg)
    for k in PARAMS:
        scale = float(theirs[k].abs().max())
        assert scale > 0, k
        torch.testing.assert_close(ours[k], theirs[k], atol=1e-3 * scale, rtol=0, msg=k)


def test_same_result_with_any_thread_count() -> None:
    scene = {k: v.float() for k, v in random_scene(200, seed=4).items()}
    bg = torch.zeros(3)
    before = torch.get_num_threads()
    runs = []
    try:
        for threads in (1, 2, 3):
            torch.set_num_threads(threads)
            runs.append((_render("cpp", scene, 64, 48, bg)[0], _grads("cpp", scene, 64, 48, bg)))
    finally:
        torch.set_num_threads(before)
    for img, grads in runs[1:]:
        assert torch.equal(img, runs[0][0])
        for k in PARAMS:
            assert torch.equal(grads[k], runs[0][1][k]), k


@pytest.fixture
def fresh_status() -> Iterator[None]:
    saved = compiled._status
    compiled._status = None
    yield
    compiled._status = saved


def test_auto_picks_compiled_on_cpu() -> None:
    backend, why = resolve_backend("auto", torch.device("cpu"))
    assert backend == "cpp" and "compiled" in why


def test_auto_falls_back_and_says_why(fresh_status: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPACEPORT_GS_COMPILED", "0")
    backend, why = resolve_backend("auto", torch.device("cpu"))
    assert backend == "torch" and "SPACEPORT_GS_COMPILED=0" in why
    with pytest.raises(ValueError, match="backend=cpp"):
        resolve_backend("cpp", torch.device("cpu"))


def test_build_failure_is_reported(fresh_status: None, monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
    monkeypatch.setattr(compiled, "CFLAGS", [*compiled.CFLAGS, "-DSPACEPORT_BREAK_BUILD", "-include", "no_such_header.h"])
    st = compiled.load()
    assert not st.ok and "build failed" in st.message


def _lists(binner: Binner, scene: dict[str, Tensor], w: int, h: int) -> TileLists:
    vm, K = camera(w, h, scene["means"].dtype)
    p = prepare(
        scene["means"], scene["quats"], scene["scales"], scene["opacities"], scene["sh"], vm, K, w, h, 1, None, Kernels(bin_tiles=binner)
    )
    return p.lists


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("n,w,h", [(300, 70, 53), (40, 37, 29), (1, 16, 16)])
def test_binning_matches_pytorch_lists(dtype: torch.dtype, n: int, w: int, h: int) -> None:
    scene = {k: v.to(dtype) for k, v in random_scene(n, seed=n).items()}
    ours, ref = _lists(bin_tiles_cpp, scene, w, h), _lists(bin_tiles, scene, w, h)
    assert ref.gauss.numel() > 0
    for key in ("gauss", "tile", "start", "count"):
        assert torch.equal(getattr(ours, key), getattr(ref, key)), key
    assert (ours.tiles_x, ours.tiles_y) == (ref.tiles_x, ref.tiles_y)


def test_binning_of_nothing_and_off_screen() -> None:
    z = torch.zeros(0, 2)
    lists = bin_tiles_cpp(z, z, torch.zeros(0), torch.zeros(0, 3), torch.zeros(0), 40, 20)
    assert lists.gauss.numel() == 0 and lists.count.shape == (3 * 2,) and int(lists.count.sum()) == 0
    far = torch.tensor([[-500.0, -500.0]])
    lists = bin_tiles_cpp(far, torch.tensor([[3.0, 3.0]]), torch.ones(1), torch.tensor([[1.0, 0.0, 1.0]]), torch.ones(1) * 0.5, 40, 20)
    assert lists.gauss.numel() == 0


def test_binning_rejects_bad_shapes() -> None:
    with pytest.raises(RuntimeError, match="conics must be"):
        bin_tiles_cpp(torch.zeros(2, 2), torch.zeros(2, 2), torch.zeros(2), torch.zeros(2, 2), torch.zeros(2), 8, 8)


@pytest.mark.parametrize("dtype,atol", [(torch.float64, 1e-12), (torch.float32, 2e-6)])
def test_ssim_matches_metrics(dtype: torch.dtype, atol: float) -> None:
    g = torch.Generator().manual_seed(7)
    # 29x41 is not a multiple of anything; borders (zero padding) matter
    img = torch.rand(29, 41, 3, generator=g, dtype=dtype).requires_grad_(True)
    ref = (img.detach() * 0.7 + 0.3 * torch.rand(29, 41, 3, generator=g, dtype=dtype)).clamp(0, 1)
    ours, theirs = ssim_cpp(img, ref), ssim(img, ref)
    torch.testing.assert_close(ours, theirs, atol=atol, rtol=0)
    (g_ours,) = torch.autograd.grad(ours, img)
    (g_theirs,) = torch.autograd.grad(theirs, img)
    assert float(g_theirs.abs().max()) > 0
    torch.testing.assert_close(g_ours, g_theirs, atol=atol * float(g_theirs.abs().max()) * 1e3, rtol=1e-4)


def test_ssim_gradcheck_float64() -> None:
    g = torch.Generator().manual_seed(3)
    img = torch.rand(9, 13, 3, generator=g, dtype=torch.float64).requires_grad_(True)
    ref = torch.rand(9, 13, 3, generator=g, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: ssim_cpp(x, ref), (img,), eps=1e-6, atol=1e-8, rtol=1e-5)


def test_ssim_in_the_loss_and_any_thread_count() -> None:
    g = torch.Generator().manual_seed(5)
    img = torch.rand(64, 48, 3, generator=g).requires_grad_(True)
    ref = torch.rand(64, 48, 3, generator=g)
    before = torch.get_num_threads()
    runs = []
    try:
        for threads in (1, 2, 3):
            torch.set_num_threads(threads)
            loss = loss_fn(img, ref, 0.2, ssim_cpp)
            runs.append((loss.detach(), torch.autograd.grad(loss, img)[0]))
    finally:
        torch.set_num_threads(before)
    for value, grad in runs[1:]:
        assert torch.equal(value, runs[0][0]) and torch.equal(grad, runs[0][1])
    torch.testing.assert_close(runs[0][0], loss_fn(img, ref, 0.2).detach(), atol=1e-6, rtol=0)


def test_ssim_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="one shape"):
        ssim_cpp(torch.rand(8, 8, 3), torch.rand(8, 9, 3))
    with pytest.raises(ValueError, match="reference image"):
        ssim_cpp(torch.rand(8, 8, 3), torch.rand(8, 8, 3).requires_grad_(True))
