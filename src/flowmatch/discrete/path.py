"""The mixture probability path over token sequences x in {0..V-1}^L.

Each token is drawn independently given the data x1 (t = 0 source, t = 1 data):

    p_t(x^i | x1) = kappa_t delta(x^i, x1^i) + (1 - kappa_t) p0(x^i),

with p0 uniform over the V tokens or a point mass on an extra mask token (index V, so that the
network reads V + 1 tokens and predicts V). The network predicts the posterior p_{1|t}(x1^i | x_t)
as logits; on the mask path a token that is no longer masked already shows its data value, so
its posterior is carried over as a point mass (`carry_over`).

Reference: Gat et al., "Discrete Flow Matching" (2024); Sahoo et al., "Simple and Effective
Masked Diffusion Language Models" (2024) for the carried-over posterior.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from flowmatch.discrete.schedules import KappaSchedule
from flowmatch.errors import FlowmatchError

DISCRETE_SOURCES = ("uniform", "mask")


@dataclass(frozen=True)
class MixturePath:
    """The path of `vocab_size` tokens from a `source` ('uniform' or 'mask') under `schedule`."""

    schedule: KappaSchedule
    vocab_size: int
    source: str = "mask"

    def __post_init__(self):
        if self.source not in DISCRETE_SOURCES:
            raise FlowmatchError(f"unknown discrete source {self.source!r}; choose one of {', '.join(DISCRETE_SOURCES)}")
        if int(self.vocab_size) < 2:
            raise FlowmatchError(f"a vocabulary needs at least 2 tokens, got {self.vocab_size}")

    @property
    def mask_token(self) -> int | None:
        """The index of the mask token (V) on the mask path, else None."""
        return self.vocab_size if self.source == "mask" else None

    @property
    def input_vocab(self) -> int:
        """How many tokens the network reads: V, or V + 1 with the mask."""
        return self.vocab_size + (self.source == "mask")

    def source_probs(self, device: torch.device | str = "cpu") -> Tensor:
        """p0 over the network's input tokens: (input_vocab,)."""
        if self.source == "mask":
            p = torch.zeros(self.input_vocab, device=device)
            p[self.vocab_size] = 1.0
            return p
        return torch.full((self.vocab_size,), 1.0 / self.vocab_size, device=device)

    def sample_source(self, shape: tuple[int, ...], generator: torch.Generator | None = None, device: torch.device | str = "cpu") -> Tensor:
        """x0 ~ p0: a LongTensor of `shape`, e.g. (B, L)."""
        if self.source == "mask":
            return torch.full(shape, self.vocab_size, dtype=torch.long, device=device)
        return torch.randint(self.vocab_size, shape, generator=generator).to(device)

    def sample(self, x1: Tensor, t: Tensor, generator: torch.Generator | None = None, x0: Tensor | None = None) -> Tensor:
        """x_t: (B, L) from x1: (B, L) at t: (B,): each token is x1^i with probability kappa_t, else x0^i."""
        if x0 is None:
            x0 = self.sample_source(tuple(x1.shape), generator, x1.device)
        k = self.schedule.kappa(t.to(torch.float64)).to(torch.float32).reshape(-1, *([1] * (x1.dim() - 1)))
        keep = torch.rand(x1.shape, generator=generator).to(x1.device) < k
        return torch.where(keep, x1, x0)

    def marginal(self, p1: Tensor, t: float) -> Tensor:
        """The per-token law of x_t when x1^i ~ p1: (..., V) -> (..., input_vocab), kappa_t p1 + (1 - kappa_t) p0."""
        k = self.schedule.kappa(torch.tensor(float(t), dtype=torch.float64)).item()
        padded = torch.nn.functional.pad(p1, (0, self.input_vocab - self.vocab_size))
        return k * padded + (1 - k) * self.source_probs(p1.device).to(p1.dtype)

    def check_tokens(self, x: Tensor, name: str = "x") -> None:
        """A one-line error unless x holds integer tokens the network can read (0..input_vocab-1)."""
        if x.is_floating_point() or (x.numel() and (int(x.min()) < 0 or int(x.max()) >= self.input_vocab)):
            raise FlowmatchError(f"{name} must hold integer tokens in 0..{self.input_vocab - 1}")

    def carry_over(self, log_q: Tensor, x: Tensor) -> Tensor:
        """log_q: (B, L, V) with, on the mask path, every unmasked position of x: (B, L) set to a point mass at its token."""
        if self.source != "mask":
            return log_q
        unmasked = x != self.vocab_size
        point = torch.full_like(log_q, float("-inf")).scatter(-1, x.clamp(max=self.vocab_size - 1).unsqueeze(-1), 0.0)
        return torch.where(unmasked.unsqueeze(-1), point, log_q)
