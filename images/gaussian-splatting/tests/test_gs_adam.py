"""The trainer's Adam: torch.optim.Adam(fused=True)'s numbers, its state_dict layout, and no torch._dynamo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gs_trainer.adam import Adam

HERE = Path(__file__).resolve().parent.parent


def test_same_steps_as_torch_adam_and_state_dicts_interchange() -> None:
    g = torch.Generator().manual_seed(0)
    ours = torch.nn.Parameter(torch.randn(40, 3, generator=g))
    theirs = torch.nn.Parameter(ours.detach().clone())
    default = torch.nn.Parameter(ours.detach().clone())
    oa, ob = Adam([ours], lr=0.01, eps=1e-15), torch.optim.Adam([theirs], lr=0.01, eps=1e-15, fused=True)
    od = torch.optim.Adam([default], lr=0.01, eps=1e-15)  # the default single-tensor path
    for _ in range(25):
        grad = torch.randn(40, 3, generator=g)
        ours.grad, theirs.grad, default.grad = grad.clone(), grad.clone(), grad.clone()
        oa.step()
        ob.step()
        od.step()
        oa.zero_grad(set_to_none=True)
    assert torch.equal(ours, theirs) and ours.grad is None
    assert torch.allclose(ours, default, rtol=0, atol=1e-6)
    # a checkpoint written with torch's Adam, and one of ours, resume identically
    for saved in (ob.state_dict(), oa.state_dict()):
        oc = Adam([ours], lr=0.5)
        oc.load_state_dict(saved)
        assert oc.param_groups[0]["lr"] == 0.01 and float(oc.state[ours]["step"]) == 25
    grad = torch.randn(40, 3, generator=g)
    ours.grad, theirs.grad = grad.clone(), grad.clone()
    oc.step()
    ob.step()
    assert torch.equal(ours, theirs)


def test_rejects_bad_settings_and_foreign_state() -> None:
    p = torch.nn.Parameter(torch.zeros(3))
    with pytest.raises(ValueError, match="invalid lr"):
        Adam([p], lr=-1.0)
    other = Adam([p, torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    with pytest.raises(ValueError, match="other parameter groups"):
        Adam([p], lr=0.1).load_state_dict(other.state_dict())


def test_a_training_step_does_not_import_the_compiler_stack() -> None:
    code = (
        "import sys, torch\n"
        "from gs_trainer.adam import Adam\n"
        "p = torch.nn.Parameter(torch.ones(4)); o = Adam([p], lr=0.1)\n"
        "(p * p).sum().backward(); o.step()\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{HERE}:{HERE.parent / 'shared'}"}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"
