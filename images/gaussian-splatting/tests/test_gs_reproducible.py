"""Training is reproducible: the same input and seed give bitwise the same model, on either CPU
backend and with either densification strategy; another seed gives another model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gs_trainer.config import parse_hyperparameters
from gs_trainer.data import load_scene
from gs_trainer.train import Trainer

from gs_synthetic import make_scene

HYPER = {
    "quality": "preview", "steps": "60", "resolution_scale": "1", "refine_start": "20", "refine_every": "20",
    "sh_degree": "1", "sh_degree_interval": "30", "checkpoint_every": "0", "log_every": "100", "threads": "2",
}


@pytest.fixture(scope="module")
def sfm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("sfm")
    make_scene(d, n_images=8, n_points=300)
    return d


def _train(sfm: Path, backend: str, strategy: str, seed: int) -> dict[str, torch.Tensor]:
    cfg = parse_hyperparameters({**HYPER, "backend": backend, "strategy": strategy, "seed": str(seed)})
    torch.manual_seed(cfg.seed)  # as train.run does
    trainer = Trainer(cfg, load_scene(sfm, cfg), torch.device("cpu"), backend)  # type: ignore[arg-type]
    trainer.init()
    trainer.train(None)
    return {k: v.detach().clone() for k, v in trainer.params.items()}


@pytest.mark.parametrize("backend,strategy", [("cpp", "default"), ("cpp", "mcmc"), ("torch", "default")])
def test_same_seed_same_model(sfm: Path, backend: str, strategy: str) -> None:
    if backend == "cpp":
        from gs_trainer.backends import compiled

        if not compiled.load().ok:
            pytest.skip("the compiled backend cannot be built here")
    a, b = _train(sfm, backend, strategy, 0), _train(sfm, backend, strategy, 0)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    c = _train(sfm, backend, strategy, 1)
    assert c["means"].shape != a["means"].shape or not torch.equal(c["means"], a["means"])
