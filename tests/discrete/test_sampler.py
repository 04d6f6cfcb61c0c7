"""The discrete Euler sampler with the exact per-token posteriors of known distributions: its
output's total variation to the truth falls with the step where tokens depend on each other, and
is exact at any step where they do not; jumps stay in the simplex; NFE is counted."""

from __future__ import annotations

import pytest
import torch

from flowmatch.discrete import MixturePath, PolynomialKappa, categorical, sample_discrete
from flowmatch.errors import FlowmatchError
from helpers import ExactTokenPosterior, histogram_tv, joint_table

N = 40_000
# the Monte-Carlo floor of the TV of N draws over S = 9 or 16 states is about sqrt(S / (2 pi N)) ~ 0.006-0.008
FLOOR = 0.016


def factorised(vocab: int = 4) -> torch.Tensor:
    a = torch.tensor([0.55, 0.25, 0.15, 0.05], dtype=torch.float64)[:vocab]
    b = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64)[:vocab]
    return torch.outer(a / a.sum(), b / b.sum())


def correlated() -> torch.Tensor:
    """A joint law over {0,1,2}^2 far from independent: mass on the diagonal."""
    p = torch.tensor([[0.3, 0.02, 0.01], [0.02, 0.25, 0.03], [0.01, 0.06, 0.3]], dtype=torch.float64)
    return p / p.sum()


def draw(path: MixturePath, probs: torch.Tensor, steps: int, method: str, corrector: float = 0.0, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x0 = path.sample_source((N, probs.dim()), g)
    out = sample_discrete(ExactTokenPosterior(path, probs), path, x0, steps=steps, method=method, corrector=corrector, generator=g)
    return out, histogram_tv(out.x, *joint_table(probs))


@pytest.mark.parametrize("method", ["kappa", "euler"])
@pytest.mark.parametrize("source", ["uniform", "mask"])
def test_total_variation_falls_with_the_step(source, method):
    """Tokens jump together within a step from posteriors computed before it, so their dependence
    is reproduced only as h shrinks: TV to the exact law falls from h = 1 to 1/4 to 1/64."""
    path = MixturePath(PolynomialKappa(1.0), 3, source)
    tvs = [draw(path, correlated(), steps, method)[1] for steps in (1, 4, 64)]
    assert tvs[0] > tvs[1] > tvs[2]
    assert tvs[0] > 0.3 and tvs[2] < FLOOR


@pytest.mark.parametrize("source", ["uniform", "mask"])
@pytest.mark.parametrize("steps", [1, 3])
def test_kappa_step_is_exact_for_independent_tokens(source, steps):
    """For data whose tokens are independent, each token's chain is exact under a step in kappa."""
    path = MixturePath(PolynomialKappa(2.0), 4, source)
    assert draw(path, factorised(), steps, "kappa")[1] < FLOOR


def test_corrector_keeps_the_law():
    """The divergence-free term leaves p_t unchanged: with it, the exact posterior still samples the truth."""
    path = MixturePath(PolynomialKappa(2.0), 4, "uniform")
    assert draw(path, factorised(), 32, "kappa", corrector=1.0)[1] < FLOOR
    mask = MixturePath(PolynomialKappa(1.0), 3, "mask")
    assert draw(mask, correlated(), 32, "kappa", corrector=0.5)[1] < 0.03  # the step's own bias on dependent tokens, as without it


def test_jumps_never_leave_the_simplex_and_nfe_is_counted():
    """A huge corrector makes every jump probability exceed 1: they are capped, tokens stay valid."""
    path = MixturePath(PolynomialKappa(2.0), 4, "uniform")
    out, _ = draw(path, factorised(), 5, "euler", corrector=1e6)
    assert out.nfe == 5 and out.x.dtype == torch.long
    assert int(out.x.min()) >= 0 and int(out.x.max()) < 4


def test_trajectory_and_mask_leaves_no_mask():
    path = MixturePath(PolynomialKappa(1.0), 3, "mask")
    g = torch.Generator().manual_seed(0)
    out = sample_discrete(ExactTokenPosterior(path, correlated()), path, path.sample_source((50, 2)), steps=4, trajectory=True, generator=g)
    assert out.trajectory.shape == (5, 50, 2) and out.times.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert bool((out.trajectory[0] == 3).all()) and bool((out.x < 3).all())
    # a token once unmasked never changes (no corrector)
    shown = out.trajectory[1:] != 3
    assert bool(((out.trajectory[1:] == out.x[None]) | ~shown).all())


def test_categorical_follows_its_weights():
    g = torch.Generator().manual_seed(0)
    w = torch.tensor([[1.0, 3.0, 0.0, 4.0]]).expand(200_000, 4)
    counts = torch.bincount(categorical(w, g), minlength=4).double() / 200_000
    assert torch.allclose(counts, torch.tensor([0.125, 0.375, 0.0, 0.5], dtype=torch.float64), atol=0.005)


def test_bad_sampler_arguments():
    path = MixturePath(PolynomialKappa(1.0), 3, "mask")
    post = ExactTokenPosterior(path, correlated())
    with pytest.raises(FlowmatchError, match="unknown discrete sampler"):
        sample_discrete(post, path, path.sample_source((2, 2)), method="rk4")
    with pytest.raises(FlowmatchError, match="steps"):
        sample_discrete(post, path, path.sample_source((2, 2)), steps=0)
    with pytest.raises(FlowmatchError, match="tokens"):
        sample_discrete(post, path, torch.full((2, 2), 9), steps=2)
