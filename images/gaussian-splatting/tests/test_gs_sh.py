"""The SH colour (one batched product of basis and coefficients) is the 3DGS / gsplat formula
written term by term, in value and gradient, for every degree."""

from __future__ import annotations

import pytest
import torch

from gs_trainer.sh import C0, C1, C2, C3, eval_sh, num_sh_bases


def term_by_term(degree: int, c: torch.Tensor, dirs: torch.Tensor) -> torch.Tensor:
    """The reference formula (3DGS's eval_sh), one coefficient at a time."""
    out: torch.Tensor = C0 * c[:, 0]
    if degree < 1:
        return out
    d = dirs / dirs.norm(dim=-1, keepdim=True)
    x, y, z = d[:, 0:1], d[:, 1:2], d[:, 2:3]
    out = out - C1 * y * c[:, 1] + C1 * z * c[:, 2] - C1 * x * c[:, 3]
    if degree < 2:
        return out
    xx, yy, zz, xy, yz, xz = x * x, y * y, z * z, x * y, y * z, x * z
    out = out + C2[0] * xy * c[:, 4] + C2[1] * yz * c[:, 5] + C2[2] * (2 * zz - xx - yy) * c[:, 6]
    out = out + C2[3] * xz * c[:, 7] + C2[4] * (xx - yy) * c[:, 8]
    if degree < 3:
        return out
    full: torch.Tensor = (
        out
        + C3[0] * y * (3 * xx - yy) * c[:, 9]
        + C3[1] * xy * z * c[:, 10]
        + C3[2] * y * (4 * zz - xx - yy) * c[:, 11]
        + C3[3] * z * (2 * zz - 3 * xx - 3 * yy) * c[:, 12]
        + C3[4] * x * (4 * zz - xx - yy) * c[:, 13]
        + C3[5] * z * (xx - yy) * c[:, 14]
        + C3[6] * x * (xx - 3 * yy) * c[:, 15]
    )
    return full


@pytest.mark.parametrize("degree", [0, 1, 2, 3])
@pytest.mark.parametrize("stored", [4, 16])
def test_eval_sh_is_the_term_by_term_formula(degree: int, stored: int) -> None:
    if num_sh_bases(degree) > stored:
        pytest.skip("a degree above what is stored")
    g = torch.Generator().manual_seed(degree)
    coeffs = torch.randn(50, stored, 3, dtype=torch.float64, generator=g, requires_grad=True)
    dirs = torch.randn(50, 3, dtype=torch.float64, generator=g, requires_grad=True)
    got, want = eval_sh(degree, coeffs, dirs), term_by_term(degree, coeffs, dirs)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    w = torch.randn(50, 3, dtype=torch.float64, generator=g)
    ga = torch.autograd.grad((got * w).sum(), [coeffs, dirs], allow_unused=True)
    gb = torch.autograd.grad((want * w).sum(), [coeffs, dirs], allow_unused=True)
    for a, b in zip(ga, gb):
        if a is None or b is None:
            assert degree == 0  # the constant band does not depend on the direction
            continue
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    assert torch.autograd.gradcheck(lambda c, d: eval_sh(degree, c, d), (coeffs[:6].detach().requires_grad_(), dirs[:6].detach().requires_grad_()))
