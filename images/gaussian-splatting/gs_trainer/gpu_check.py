"""GPU check: CPU backend vs gsplat parity on one scene, and steps/s of both at 1600x1200.

    python -m gs_trainer.gpu_check [--width 1600 --height 1200 --gaussians 200000 --steps 5]

Parity: the same random scene (and camera) rendered by the torch backend on CPU and by gsplat on
CUDA, float32; passes when PSNR(cpu, gpu) >= 40 dB and the mean absolute difference <= 2e-3
(rounding and gsplat's fast exp make the images differ by far less than one 8-bit level).
Speed: forward + backward + Adam step on the same scene, seconds per step for each backend.
Exit status 1 if parity fails or gsplat is unavailable.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import torch

from .backends import rasterize
from .backends.torch_tiles import rasterize_torch
from .sh import rgb_to_sh0


def scene(n: int, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    xy = (torch.rand(n, 2, generator=g) - 0.5) * torch.tensor([4.0, 3.0])
    z = 0.2 * torch.rand(n, 1, generator=g)
    return {
        "means": torch.cat([xy, z], 1),
        "quats": torch.randn(n, 4, generator=g),
        "scales": torch.exp(torch.randn(n, 3, generator=g) * 0.5) * 0.01,
        "opacities": torch.rand(n, generator=g) * 0.8 + 0.1,
        "sh": torch.cat([rgb_to_sh0(torch.rand(n, 1, 3, generator=g)), 0.1 * torch.randn(n, 15, 3, generator=g)], 1),
    }


def camera(width: int, height: int) -> tuple[torch.Tensor, torch.Tensor]:
    f = 0.8 * width
    K = torch.tensor([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1.0]])
    vm = torch.eye(4)
    vm[:3, :3] = torch.tensor([[1.0, 0, 0], [0, -1.0, 0], [0, 0, -1.0]])  # nadir: looking down -z
    vm[:3, 3] = torch.tensor([0.0, 0.0, 3.0])
    return vm, K


def render(backend: str, p: dict[str, torch.Tensor], vm: torch.Tensor, K: torch.Tensor, w: int, h: int, dev: torch.device) -> torch.Tensor:
    q = {k: v.to(dev) for k, v in p.items()}
    bg = torch.zeros(3, device=dev)
    if backend == "torch":
        return rasterize_torch(q["means"], q["quats"], q["scales"], q["opacities"], q["sh"], vm, K, w, h, 3, bg).image
    return rasterize("gsplat", q["means"], q["quats"], q["scales"], q["opacities"], q["sh"], vm.to(dev), K.to(dev), w, h, 3, bg).image


def seconds_per_step(backend: str, p: dict[str, torch.Tensor], vm: torch.Tensor, K: torch.Tensor, w: int, h: int, dev: torch.device, steps: int) -> float:
    params = {k: v.to(dev).clone().requires_grad_(True) for k, v in p.items()}
    opt = torch.optim.Adam(params.values(), lr=1e-3)
    target = torch.rand(h, w, 3, device=dev)
    times = []
    for i in range(steps + 1):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        img = render(backend, params, vm, K, w, h, dev)
        loss = (img - target).abs().mean()
        loss.backward()
        opt.step()
        opt.zero_grad()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        if i:  # the first step warms up
            times.append(time.perf_counter() - t)
    return sum(times) / len(times)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=1600)
    ap.add_argument("--height", type=int, default=1200)
    ap.add_argument("--gaussians", type=int, default=200_000)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--cpu-steps", type=int, default=2)
    a = ap.parse_args(argv)
    if not torch.cuda.is_available():
        print("gpu-check: no CUDA device visible", file=sys.stderr)
        return 1
    try:
        import gsplat
    except ImportError:
        print("gpu-check: gsplat is not installed (pip install -r requirements-gpu.txt)", file=sys.stderr)
        return 1
    cuda = torch.device("cuda")
    print(f"device: {torch.cuda.get_device_name(0)}; torch {torch.__version__}; gsplat {gsplat.__version__}", flush=True)
    p = scene(a.gaussians, 0)
    vm, K = camera(a.width, a.height)
    with torch.no_grad():
        cpu = render("torch", p, vm, K, a.width, a.height, torch.device("cpu"))
        gpu = render("gsplat", p, vm, K, a.width, a.height, cuda).cpu()
    mse = float(((cpu - gpu) ** 2).mean())
    mad = float((cpu - gpu).abs().mean())
    parity_psnr = 100.0 if mse == 0 else -10 * math.log10(mse)
    ok = parity_psnr >= 40.0 and mad <= 2e-3
    print(f"parity at {a.width}x{a.height}, {a.gaussians} Gaussians: PSNR(cpu, gpu) = {parity_psnr:.2f} dB, "
          f"mean |diff| = {mad:.2e}, max |diff| = {float((cpu - gpu).abs().max()):.3f} -> {'OK' if ok else 'FAIL'}", flush=True)
    gpu_s = seconds_per_step("gsplat", p, vm, K, a.width, a.height, cuda, a.steps)
    print(f"gsplat (CUDA): {gpu_s:.4f} s/step = {1 / gpu_s:.1f} steps/s", flush=True)
    cpu_s = seconds_per_step("torch", p, vm, K, a.width, a.height, torch.device("cpu"), a.cpu_steps)
    print(f"torch tiles (CPU, {torch.get_num_threads()} threads): {cpu_s:.3f} s/step = {1 / cpu_s:.3f} steps/s", flush=True)
    print(json.dumps({"parity_psnr_db": parity_psnr, "mean_abs_diff": mad, "parity_ok": ok,
                      "gsplat_s_per_step": gpu_s, "torch_cpu_s_per_step": cpu_s, "width": a.width, "height": a.height,
                      "gaussians": a.gaussians}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
