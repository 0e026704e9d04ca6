"""The compiled per-Gaussian kernels against their PyTorch twins: the projection
(csrc/projection.cpp, projection.project) and the SH colours (csrc/sh_colors.cpp,
cpu_common.torch_colors): outputs, gradients in float64, gradcheck, float32, thread count, bad input."""

from __future__ import annotations

import shutil

import pytest
import torch
from torch import Tensor

from gs_trainer.backends import compiled
from gs_trainer.backends.cpp_colors import colors_cpp
from gs_trainer.backends.cpp_projection import project_cpp
from gs_trainer.backends.cpu_common import torch_colors
from gs_trainer.backends.projection import Projected, project

from gs_scenes import camera

if shutil.which("g++") is None or shutil.which("ninja") is None:
    pytest.skip("no g++/ninja on this machine: the compiled backend cannot be built here", allow_module_level=True)

W, H = 64, 48
OUTPUTS = ("means2d", "conics", "cov2d", "depths", "compensation")


@pytest.fixture(scope="module", autouse=True)
def built() -> None:
    st = compiled.load()
    assert st.ok, st.message


def _scene(n: int, seed: int, dtype: torch.dtype = torch.float64) -> tuple[Tensor, Tensor, Tensor]:
    """Gaussians in front of, beside (x/z and y/z clamped) and behind the camera, of any size."""
    g = torch.Generator().manual_seed(seed)
    means = (torch.rand(n, 3, generator=g, dtype=dtype) - 0.5) * torch.tensor([9.0, 7.0, 8.0], dtype=dtype)
    quats = torch.randn(n, 4, generator=g, dtype=dtype)
    scales = torch.exp(torch.randn(n, 3, generator=g, dtype=dtype) - 2.5)
    return means, quats, scales


def _weighted(p: Projected, weights: list[Tensor]) -> Tensor:
    """A loss reading every differentiable output of the visible Gaussians (the others are culled)."""
    vis = p.visible
    total = torch.zeros((), dtype=p.means2d.dtype)
    for k, w in zip(OUTPUTS, weights):
        total = total + (getattr(p, k)[vis] * w[vis]).sum()
    return total


def _run(fn: object, ins: tuple[Tensor, ...], vm: Tensor, K: Tensor, weights: list[Tensor] | None) -> tuple[Projected, list[Tensor]]:
    leaves = [t.clone().requires_grad_(True) for t in ins]
    p: Projected = fn(*leaves, vm, K, W, H)  # type: ignore[operator]
    ws = weights if weights is not None else [torch.ones_like(getattr(p, k)) for k in OUTPUTS]
    _weighted(p, ws).backward()
    return p, [t.grad for t in leaves]  # type: ignore[misc]


def test_matches_pytorch_projection_float64() -> None:
    vm, K = camera(W, H)
    ins = _scene(600, seed=1)
    ref = project(*ins, vm, K, W, H)
    g = torch.Generator().manual_seed(0)
    weights = [torch.randn(getattr(ref, k).shape, generator=g, dtype=torch.float64) for k in OUTPUTS]
    ref, ref_grads = _run(project, ins, vm, K, weights)
    got, grads = _run(project_cpp, ins, vm, K, weights)
    assert torch.equal(got.visible, ref.visible)
    assert 0.3 < float(ref.visible.double().mean()) < 0.9  # the scene has Gaussians on both sides
    for k in OUTPUTS:
        a, b = getattr(got, k)[ref.visible], getattr(ref, k)[ref.visible]
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10, msg=k)
    torch.testing.assert_close(got.depths, ref.depths, rtol=1e-12, atol=1e-12)  # behind the camera too
    for name, a, b in zip(("means", "quats", "scales"), grads, ref_grads):
        scale = float(b.abs().max())
        assert scale > 0, name
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12 * scale, msg=name)


def test_gradcheck_float64() -> None:
    vm, K = camera(W, H)
    ins = tuple(t.clone().requires_grad_(True) for t in _scene(24, seed=2))

    def f(means: Tensor, quats: Tensor, scales: Tensor) -> tuple[Tensor, ...]:
        p = project_cpp(means, quats, scales, vm, K, W, H)
        return tuple(getattr(p, k) for k in OUTPUTS)

    assert torch.autograd.gradcheck(f, ins, eps=1e-6, atol=1e-5, rtol=1e-4)


def test_float32_close_to_float64() -> None:
    vm, K = camera(W, H)
    ins = _scene(400, seed=3)
    ref = project(*ins, vm, K, W, H)
    means, quats, scales = (t.float() for t in ins)
    got = project_cpp(means, quats, scales, vm.float(), K.float(), W, H)
    vis = ref.visible & got.visible
    assert int((ref.visible != got.visible).sum()) <= 2
    for k in ("means2d", "depths"):
        torch.testing.assert_close(getattr(got, k)[vis].double(), getattr(ref, k)[vis], rtol=1e-5, atol=1e-4, msg=k)


def test_same_result_with_any_thread_count() -> None:
    vm, K = camera(W, H, dtype=torch.float32)
    ins = tuple(t.float() for t in _scene(5000, seed=4))
    weights = [torch.ones(5000, d) for d in (2, 3, 3)] + [torch.ones(5000), torch.ones(5000)]
    runs = []
    before = torch.get_num_threads()
    try:
        for threads in (1, 2, 3):
            torch.set_num_threads(threads)
            runs.append(_run(project_cpp, ins, vm, K, weights)[1])
    finally:
        torch.set_num_threads(before)
    for grads in runs[1:]:
        for a, b in zip(grads, runs[0]):
            assert torch.equal(a, b)


def test_rejects_bad_shapes() -> None:
    vm, K = camera(W, H)
    means, quats, scales = _scene(5, seed=5)
    with pytest.raises(RuntimeError, match="quats must be"):
        project_cpp(means, quats[:, :3], scales, vm, K, W, H)
    with pytest.raises(RuntimeError, match="share one floating dtype"):
        project_cpp(means, quats, scales.float(), vm, K, W, H)


def _sh_scene(n: int, seed: int, k: int = 16, dtype: torch.dtype = torch.float64) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    sh = torch.randn(n, k, 3, generator=g, dtype=dtype)
    means = torch.randn(n, 3, generator=g, dtype=dtype) * 2
    ids = torch.nonzero(torch.rand(n, generator=g) < 0.6).flatten()
    cam = torch.tensor([0.3, -0.2, -4.0], dtype=dtype)
    return sh, means, ids, cam


def _color_grads(fn: object, degree: int, sh: Tensor, means: Tensor, ids: Tensor, cam: Tensor, w: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    s, m = sh.clone().requires_grad_(True), means.clone().requires_grad_(True)
    colors: Tensor = fn(degree, s, m, ids, cam)  # type: ignore[operator]
    (colors * w).sum().backward()
    # degree 0 reads no direction: PyTorch leaves means.grad unset, the kernel returns zeros
    return colors, s.grad, torch.zeros_like(m) if m.grad is None else m.grad  # type: ignore[return-value]


@pytest.mark.parametrize("degree", [0, 1, 2, 3])
def test_sh_colors_match_pytorch_float64(degree: int) -> None:
    sh, means, ids, cam = _sh_scene(500, seed=6)
    means[ids[0]] = cam  # a Gaussian at the camera centre: the clamped norm
    w = torch.randn(ids.shape[0], 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ref = _color_grads(torch_colors, degree, sh, means, ids, cam, w)
    got = _color_grads(colors_cpp, degree, sh, means, ids, cam, w)
    assert float((ref[0] == 0).double().mean()) > 0.01  # some colours clamped at 0
    for name, a, b in zip(("colors", "sh grad", "means grad"), got, ref):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12, msg=name)
    assert float(ref[2].abs().max()) > 0 or degree == 0


def test_sh_colors_gradcheck_float64() -> None:
    sh, means, ids, cam = _sh_scene(12, seed=7)
    s, m = sh.clone().requires_grad_(True), means.clone().requires_grad_(True)
    for degree in (1, 3):
        assert torch.autograd.gradcheck(lambda a, b: colors_cpp(degree, a, b, ids, cam), (s, m), eps=1e-6, atol=1e-5, rtol=1e-4)


def test_sh_colors_float32_and_any_thread_count() -> None:
    sh, means, ids, cam = (t if t.dtype == torch.long else t.float() for t in _sh_scene(20_000, seed=8))
    w = torch.ones(ids.shape[0], 3)
    ref = _color_grads(torch_colors, 3, sh, means, ids, cam, w)
    before = torch.get_num_threads()
    runs = []
    try:
        for threads in (1, 2, 3):
            torch.set_num_threads(threads)
            runs.append(_color_grads(colors_cpp, 3, sh, means, ids, cam, w))
    finally:
        torch.set_num_threads(before)
    for run in runs[1:]:
        assert all(torch.equal(a, b) for a, b in zip(run, runs[0]))
    torch.testing.assert_close(runs[0][0], ref[0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(runs[0][1], ref[1], rtol=1e-5, atol=1e-5)


def test_sh_colors_reject_bad_input() -> None:
    sh, means, ids, cam = _sh_scene(5, seed=9, k=4)
    with pytest.raises(RuntimeError, match="degree must be"):
        colors_cpp(3, sh, means, ids, cam)
    with pytest.raises(RuntimeError, match="ids must be"):
        colors_cpp(1, sh, means, ids.int(), cam)
