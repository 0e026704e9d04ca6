"""MCMC densification: relocation maths, relocate/add/noise behaviour, the memory cap, a training run."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from gs_trainer.adam import Adam
from gs_trainer.config import parse_hyperparameters
from gs_trainer.contract import Paths
from gs_trainer.mcmc import MIN_OPACITY, MCMCStrategy, binomials, compute_relocation, memory_cap
from gs_trainer.strategy import StrategyState
from gs_trainer.train import run

from gs_synthetic import make_scene, opt_ml

CPU = torch.device("cpu")


def _params(n: int, opacity: float) -> tuple[dict[str, torch.nn.Parameter], dict[str, Adam]]:
    g = torch.Generator().manual_seed(0)
    raw = {
        "means": torch.randn(n, 3, generator=g),
        "quats": torch.randn(n, 4, generator=g),
        "scales": torch.log(torch.full((n, 3), 0.05)),
        "opacities": torch.logit(torch.full((n,), opacity)),
        "sh0": torch.randn(n, 1, 3, generator=g),
        "shN": torch.zeros(n, 3, 3),
    }
    params = {k: torch.nn.Parameter(v) for k, v in raw.items()}
    return params, {k: Adam([p], lr=1e-3) for k, p in params.items()}


def test_relocation_keeps_the_rendered_opacity() -> None:
    op = torch.tensor([0.3, 0.6, 0.9, 0.95], dtype=torch.float64)
    scales = torch.ones(4, 3, dtype=torch.float64)
    b = binomials(CPU).double()
    same_op, same_scale = compute_relocation(op, scales, torch.ones(4, dtype=torch.long), b)
    torch.testing.assert_close(same_op, op)  # one copy: nothing changes
    torch.testing.assert_close(same_scale, scales)
    for n in (2, 3, 7):
        new_op, new_scale = compute_relocation(op, scales, torch.full((4,), n), b)
        torch.testing.assert_close(1 - (1 - new_op) ** n, op)  # n copies composite to the old opacity
        assert bool((new_scale < scales).all())  # and are smaller


def test_dead_gaussians_are_relocated_and_growth_is_capped() -> None:
    params, optims = _params(100, 0.5)
    params["opacities"].data[:20] = torch.logit(torch.tensor(0.001))
    before = params["means"].data.clone()
    mc = MCMCStrategy(0, 1000, 10, cap=103, device=CPU)
    torch.manual_seed(0)
    assert mc.relocate(params, optims) == 20
    op = torch.sigmoid(params["opacities"].data)
    assert bool((op > MIN_OPACITY).all())
    moved = params["means"].data[:20]
    assert all(bool((before[20:] == m).all(-1).any()) for m in moved)  # onto live Gaussians
    assert mc.add(params, optims) == 3  # 5% would be 5; the cap leaves 3
    assert params["means"].shape[0] == 103 and optims["means"].param_groups[0]["params"][0] is params["means"]
    assert mc.add(params, optims) == 0


def test_noise_moves_transparent_gaussians_only() -> None:
    params, optims = _params(10, 0.002)
    params["opacities"].data[:5] = torch.logit(torch.tensor(0.9))
    before = params["means"].data.clone()
    mc = MCMCStrategy(0, 1000, 10, cap=100, device=CPU)
    state = StrategyState.fresh(10, CPU)
    mc.step_post_backward(params, optims, state, step=1, lr_means=1e-4)
    delta = (params["means"].data - before).norm(dim=-1)
    assert float(delta[:5].max()) < 1e-6 < float(delta[5:].min())


def test_memory_cap() -> None:
    assert memory_cap(1000, CPU) == 1000
    assert 1000 < memory_cap(10**12, CPU) < 10**12


def test_training_with_mcmc(tmp_path: Path) -> None:
    sfm = tmp_path / "sfm"
    make_scene(sfm)
    hyper = {"quality": "preview", "strategy": "mcmc", "resolution_scale": "1", "sh_degree": "1", "checkpoint_every": "0",
             "threads": "1", "refine_start": "10", "refine_every": "10", "steps": "60", "max_gaussians": "340", "num_renders": "0"}
    paths = Paths(opt_ml(tmp_path / "ml", sfm, hyper))
    run(paths, parse_hyperparameters(hyper))
    m = json.loads((paths.model / "metrics.json").read_text())
    # refinements at steps 20, 30, 40, 50 grow 5% each from the 300 SfM points: 315, 330, then the cap
    assert m["gaussians"] == 340 and m["config"]["strategy"] == "mcmc"
    assert m["psnr"] > 12.0
