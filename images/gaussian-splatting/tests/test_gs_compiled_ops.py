"""The compiled backend's tile binning and fused SSIM: the same lists as ``cpu_common.bin_tiles``,
the same value and gradient as ``metrics.ssim`` (float64 gradcheck), independent of the thread
count, and clear errors on bad input."""

from __future__ import annotations

import shutil

import pytest
import torch
from torch import Tensor

from gs_trainer.backends import compiled
from gs_trainer.backends.cpp_ssim import ssim_cpp
from gs_trainer.backends.cpp_tiles import bin_tiles_cpp
from gs_trainer.backends.cpu_common import TileLists, bin_tiles, prepare
from gs_trainer.metrics import loss_fn, ssim

from gs_scenes import camera, random_scene

if shutil.which("g++") is None or shutil.which("ninja") is None:
    pytest.skip("no g++/ninja on this machine: the compiled backend cannot be built here", allow_module_level=True)


@pytest.fixture(scope="module", autouse=True)
def built() -> None:
    st = compiled.load()
    assert st.ok, st.message


def _lists(binner: object, scene: dict[str, Tensor], w: int, h: int) -> TileLists:
    vm, K = camera(w, h, scene["means"].dtype)
    p = prepare(
        scene["means"], scene["quats"], scene["scales"], scene["opacities"], scene["sh"], vm, K, w, h, 1, None,
        binner,  # type: ignore[arg-type]
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
