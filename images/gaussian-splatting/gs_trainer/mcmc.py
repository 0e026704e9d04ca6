"""MCMC densification (3DGS as MCMC, Kheradmand et al. 2024) with the behaviour of gsplat's
``MCMCStrategy``, in plain PyTorch (any device).

Every ``refine_every`` steps between ``refine_start`` and ``refine_stop``: Gaussians whose
opacity fell to ``min_opacity`` ("dead") are moved onto live ones sampled in proportion to
opacity, and 5% more Gaussians are added the same way up to the cap. A Gaussian that receives
N - 1 copies gets the opacity and scale of ``compute_relocation`` so that the N of them render
like the one before (1 - (1 - o')^N = o at the centre). After every step the means get noise
shaped by each Gaussian's covariance, scaled by the means' learning rate, and gated by opacity:
full for nearly transparent Gaussians (opacity under 0.005), e^-9.5 of it at opacity 0.1, none
to speak of above (gsplat's ``inject_noise_to_position``). The trainer adds gsplat's opacity and
scale regularisers (0.01 each) to the loss.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch
from torch import Tensor

from .backends.projection import quat_to_rotmat
from .strategy import Optims, Params, StrategyState, _update

N_MAX = 51  # gsplat's cap on copies per Gaussian in one relocation (size of the binomial table)
NOISE_LR = 5e5
MIN_OPACITY = 0.005
GROWTH = 1.05
OPACITY_REG = 0.01
SCALE_REG = 0.01


def binomials(device: torch.device) -> Tensor:
    b = torch.zeros(N_MAX, N_MAX, device=device)
    for n in range(N_MAX):
        for k in range(n + 1):
            b[n, k] = math.comb(n, k)
    return b


def compute_relocation(opacities: Tensor, scales: Tensor, ratios: Tensor, binoms: Tensor) -> tuple[Tensor, Tensor]:
    """Opacity and scale for each of ``ratios`` copies of a Gaussian (gsplat's relocation kernel)."""
    n = ratios.clamp(1, N_MAX).to(opacities.dtype)
    new_op = 1.0 - (1.0 - opacities) ** (1.0 / n)
    i = torch.arange(1, N_MAX + 1, device=opacities.device, dtype=opacities.dtype)  # 1..N_MAX
    k = torch.arange(N_MAX, device=opacities.device, dtype=opacities.dtype)  # 0..N_MAX-1
    # sum_{i=1..N} sum_{k=0..i-1} C(i-1, k) (-1)^k / sqrt(k+1) * o'^(k+1)
    coef = binoms[: N_MAX, : N_MAX].to(opacities.dtype) * ((-1.0) ** k) / torch.sqrt(k + 1)  # [i-1, k]
    coef = coef * (k[None, :] <= (i[:, None] - 1))
    powers = new_op[:, None] ** (k[None, :] + 1)  # [M, k]
    per_i = powers @ coef.T  # [M, i]
    denom = (per_i * (i[None, :] <= n[:, None])).sum(-1)
    return new_op, scales * (opacities / denom)[:, None]


def _sample(probs: Tensor, n: int, generator: torch.Generator | None = None) -> Tensor:
    return torch.multinomial(probs, n, replacement=True, generator=generator)


def _set_sampled(name: str, p: Tensor, src: Tensor, new_op: Tensor, new_scales: Tensor) -> Tensor:
    """A copy of parameter ``name`` with the sampled Gaussians' opacity and scale replaced."""
    p = p.clone()
    if name == "opacities":
        p[src] = new_op
    elif name == "scales":
        p[src] = new_scales
    return p


def _relocated_values(params: Params, src: Tensor, binoms: Tensor) -> tuple[Tensor, Tensor]:
    op = torch.sigmoid(params["opacities"].data)
    ratios = torch.bincount(src, minlength=op.shape[0])[src] + 1
    new_op, new_scales = compute_relocation(op[src], torch.exp(params["scales"].data[src]), ratios, binoms)
    eps = torch.finfo(torch.float32).eps
    return torch.logit(new_op.clamp(MIN_OPACITY, 1.0 - eps)), torch.log(new_scales)


class MCMCStrategy:
    def __init__(self, refine_start: int, refine_stop: int, refine_every: int, cap: int, device: torch.device) -> None:
        self.refine_start, self.refine_stop, self.refine_every, self.cap = refine_start, refine_stop, refine_every, cap
        self.binoms = binomials(device)

    @torch.no_grad()
    def step_post_backward(self, params: Params, optims: Optims, state: StrategyState, step: int, lr_means: float) -> dict[str, int]:
        report = {"relocated": 0, "added": 0}
        if self.refine_start < step < self.refine_stop and step % self.refine_every == 0:
            report["relocated"] = self.relocate(params, optims)
            report["added"] = self.add(params, optims)
            n = params["means"].shape[0]
            state.grad2d = torch.zeros(n, device=state.grad2d.device)
            state.count = torch.zeros(n, device=state.count.device)
        self.inject_noise(params, lr_means * NOISE_LR)
        return report

    def relocate(self, params: Params, optims: Optims) -> int:
        op = torch.sigmoid(params["opacities"].data)
        dead = op <= MIN_OPACITY
        n_dead = int(dead.sum())
        if n_dead == 0 or n_dead == op.numel():
            return 0
        alive = torch.nonzero(~dead).flatten()
        src = alive[_sample(op[alive], n_dead)]
        dst = torch.nonzero(dead).flatten()
        new_op, new_scales = _relocated_values(params, src, self.binoms)

        def move(name: str, p: Tensor) -> Tensor:
            p = _set_sampled(name, p, src, new_op, new_scales)
            p[dst] = p[src]
            return p

        def reset(key: str, s: Tensor) -> Tensor:
            s = s.clone()
            s[src] = 0  # as gsplat: the sampled Gaussians' Adam moments restart
            return s

        _update(params, optims, move, reset)
        return n_dead

    def add(self, params: Params, optims: Optims) -> int:
        n = params["means"].shape[0]
        n_new = max(0, min(self.cap, int(GROWTH * n)) - n)
        if n_new == 0:
            return 0
        op = torch.sigmoid(params["opacities"].data)
        src = _sample(op, n_new)
        new_op, new_scales = _relocated_values(params, src, self.binoms)

        def grow(name: str, p: Tensor) -> Tensor:
            p = _set_sampled(name, p, src, new_op, new_scales)
            return torch.cat([p, p[src]])

        _update(params, optims, grow, lambda key, s: torch.cat([s, s.new_zeros((n_new, *s.shape[1:]))]))
        return n_new

    def inject_noise(self, params: Params, scaler: float) -> None:
        op = torch.sigmoid(params["opacities"].data)
        R = quat_to_rotmat(params["quats"].data)
        s = torch.exp(params["scales"].data)
        M = R * s[:, None, :]
        cov = M @ M.transpose(1, 2)
        # gsplat's gate: ~1 while opacity < 0.005, falling by e^-1 per 0.01 of opacity above
        gate = torch.sigmoid(100.0 * ((1.0 - op) - 0.995))
        noise = torch.randn_like(params["means"].data) * gate[:, None] * scaler
        params["means"].data.add_(torch.einsum("bij,bj->bi", cov, noise))


def regularisers(params: Params) -> Tensor:
    """gsplat's simple_trainer with MCMC: 0.01 mean opacity + 0.01 mean scale."""
    return OPACITY_REG * torch.sigmoid(params["opacities"]).mean() + SCALE_REG * torch.exp(params["scales"]).mean()


# Memory per Gaussian during training, all included (parameters with SH degree 3, gradients, Adam
# moments, rasterizer pairs): gsplat's MCMC run of 1M Gaussians peaks at 1.98 GB (A100).
BYTES_PER_GAUSSIAN = 2048
MEMORY_SHARE = 0.5  # of the instance's (or GPU's) memory; the rest is photos, torch, images


def instance_memory(device: torch.device) -> int:
    if device.type == "cuda":
        return int(torch.cuda.get_device_properties(device).total_memory)
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:  # a container's limit (cgroup v2) when lower
        raw = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if raw.isdigit():
            total = min(total, int(raw))
    except OSError:
        pass
    return int(total)


def memory_cap(max_gaussians: int, device: torch.device) -> int:
    """The Gaussian cap: max_gaussians, or fewer where the instance's memory would not hold them."""
    return max(1, min(max_gaussians, int(MEMORY_SHARE * instance_memory(device) / BYTES_PER_GAUSSIAN)))
