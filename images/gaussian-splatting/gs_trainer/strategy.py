"""Densification and pruning with the behaviour of gsplat's ``DefaultStrategy`` (3DGS's ADC),
plus a hard cap on the number of Gaussians (so a T4's 16 GB is never exceeded).

Every ``refine_every`` steps between ``refine_start`` and ``refine_stop``: Gaussians whose
mean screen-space gradient exceeds ``grow_grad2d`` are cloned (small) or split in two
(large); Gaussians with opacity under ``prune_opacity`` (and, after the first opacity
reset, huge ones) are pruned. Every ``reset_every`` steps opacities are clamped to
2 x ``prune_opacity``. Growth beyond ``max_gaussians`` keeps the highest-gradient candidates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import Tensor

from .backends.projection import quat_to_rotmat
from .adam import Adam
from .config import Config

Params = dict[str, torch.nn.Parameter]
Optims = dict[str, Adam]


@dataclass
class StrategyState:
    grad2d: Tensor
    count: Tensor

    def state_dict(self) -> dict[str, Tensor]:
        return {"grad2d": self.grad2d, "count": self.count}

    @staticmethod
    def fresh(n: int, device: torch.device) -> StrategyState:
        return StrategyState(torch.zeros(n, device=device), torch.zeros(n, device=device))


def _update(params: Params, optims: Optims, fn: Callable[[str, Tensor], Tensor], state_fn: Callable[[str, Tensor], Tensor]) -> None:
    """Replace each parameter by fn(param) and each Adam moment by state_fn(moment)."""
    for name in list(params):
        old = params[name]
        new = torch.nn.Parameter(fn(name, old.data), requires_grad=old.requires_grad)
        opt = optims[name]
        st: dict[str, Any] = opt.state.pop(old, {})
        for key in ("exp_avg", "exp_avg_sq"):
            if key in st:
                st[key] = state_fn(key, st[key])
        opt.param_groups[0]["params"] = [new]
        if st:
            opt.state[new] = st
        params[name] = new


def _append(params: Params, optims: Optims, new_rows: dict[str, Tensor]) -> None:
    _update(
        params,
        optims,
        lambda name, p: torch.cat([p, new_rows[name]]),
        lambda key, s: torch.cat([s, s.new_zeros((new_rows["means"].shape[0], *s.shape[1:]))]),
    )


def _select(params: Params, optims: Optims, keep: Tensor) -> None:
    _update(params, optims, lambda name, p: p[keep], lambda key, s: s[keep])


class DefaultStrategy:
    def __init__(self, cfg: Config, scene_scale: float) -> None:
        self.cfg = cfg
        self.scene_scale = scene_scale

    def update_state(self, state: StrategyState, means2d_grad: Tensor, radii: Tensor, width: int, height: int) -> None:
        g = means2d_grad.reshape(-1, 2).detach().clone()
        g[:, 0] *= width / 2.0
        g[:, 1] *= height / 2.0
        sel = radii > 0
        state.grad2d[sel] += g[sel].norm(dim=-1)
        state.count[sel] += 1

    def step_post_backward(
        self, params: Params, optims: Optims, state: StrategyState, step: int, means2d_grad: Tensor | None, radii: Tensor, width: int, height: int
    ) -> dict[str, int]:
        """``step`` is the 0-based index of the step whose backward pass just ran, as in gsplat:
        the last refinement of a run then comes ``refine_every`` steps before its end, so the
        split Gaussians settle before the model is scored and written. Returns what changed."""
        cfg = self.cfg
        report = {"cloned": 0, "split": 0, "pruned": 0}
        if not cfg.densify or step >= cfg.refine_stop:
            return report
        if means2d_grad is not None:
            self.update_state(state, means2d_grad, radii, width, height)
        if step > cfg.refine_start and step % cfg.refine_every == 0:
            report["cloned"], report["split"] = self._grow(params, optims, state)
            report["pruned"] = self._prune(params, optims, state, step)
            n = params["means"].shape[0]
            state.grad2d = torch.zeros(n, device=state.grad2d.device)
            state.count = torch.zeros(n, device=state.count.device)
        if step > 0 and step % cfg.reset_every == 0:
            self._reset_opacity(params, optims)
        return report

    @torch.no_grad()
    def _grow(self, params: Params, optims: Optims, state: StrategyState) -> tuple[int, int]:
        cfg = self.cfg
        avg = state.grad2d / state.count.clamp_min(1)
        high = avg > cfg.grow_grad2d
        smax = torch.exp(params["scales"]).max(dim=-1).values
        small = smax <= cfg.grow_scale3d * self.scene_scale
        n = params["means"].shape[0]
        room = cfg.max_gaussians - n
        cand = torch.nonzero(high).flatten()
        if room <= 0:
            return 0, 0
        if cand.numel() > room:  # cap: keep the highest-gradient candidates
            cand = cand[torch.topk(avg[cand], room).indices]
        sel = torch.zeros(n, dtype=torch.bool, device=avg.device)
        sel[cand] = True
        dup = sel & small
        split = sel & ~small
        n_dup, n_split = int(dup.sum()), int(split.sum())
        if n_dup:
            _append(params, optims, {k: v.data[dup] for k, v in params.items()})
            split = torch.cat([split, torch.zeros(n_dup, dtype=torch.bool, device=split.device)])
        if n_split:
            p = {k: v.data[split] for k, v in params.items()}
            scales = torch.exp(p["scales"])
            R = quat_to_rotmat(p["quats"])
            samples = torch.einsum("nij,bnj->bni", R, scales[None] * torch.randn(2, n_split, 3, device=scales.device))
            children = {
                k: (v.repeat(2, *([1] * (v.dim() - 1))) if k != "means" else (p["means"][None] + samples).reshape(-1, 3))
                for k, v in p.items()
            }
            children["scales"] = torch.log(scales / 1.6).repeat(2, 1)
            _select(params, optims, ~split)
            _append(params, optims, children)
        return n_dup, n_split

    @torch.no_grad()
    def _prune(self, params: Params, optims: Optims, state: StrategyState, step: int) -> int:
        cfg = self.cfg
        prune = torch.sigmoid(params["opacities"]) < cfg.prune_opacity
        if step > cfg.reset_every:
            prune |= torch.exp(params["scales"]).max(dim=-1).values > cfg.prune_scale3d * self.scene_scale
        n = int(prune.sum())
        if n and n < prune.numel():
            _select(params, optims, ~prune)
        return n if n < prune.numel() else 0

    @torch.no_grad()
    def _reset_opacity(self, params: Params, optims: Optims) -> None:
        cap = float(torch.logit(torch.tensor(self.cfg.prune_opacity * 2.0)))
        params["opacities"].data.clamp_(max=cap)
        st = optims["opacities"].state.get(params["opacities"], {})
        for key in ("exp_avg", "exp_avg_sq"):
            if key in st:
                st[key].zero_()
