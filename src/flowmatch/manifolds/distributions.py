"""Distributions with closed-form densities on the sphere S^2 and the torus T^2 (test sets).

- `VonMisesFisherMixture` on S^2: p(x) = sum_k w_k C(kappa_k) exp(kappa_k <mu_k, x>),
  C(kappa) = kappa / (4 pi sinh kappa) (Mardia and Jupp, "Directional Statistics", 9.3).
- `SphereCheckerboard`: uniform on alternate cells of an 8 x 4 grid in longitude and z =
  sin(latitude) (cells of equal area 4 pi / 32), so p = 1 / (2 pi) on half the sphere.
- `WrappedNormalMixture` on T^2: p(x) = sum_k w_k prod_i sum_m N(x_i + 2 pi m; mu_ki, s_k^2).
Densities are w.r.t. the volume measure (area on S^2), in the coordinates of flowmatch.manifolds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from flowmatch.manifolds.torus import wrap


def latlon_to_xyz(lat_deg: Tensor, lon_deg: Tensor) -> Tensor:
    """(N,), (N,) degrees -> (N, 3) unit vectors (x towards lat 0 lon 0, z towards the north pole)."""
    lat, lon = torch.deg2rad(lat_deg), torch.deg2rad(lon_deg)
    return torch.stack([torch.cos(lat) * torch.cos(lon), torch.cos(lat) * torch.sin(lon), torch.sin(lat)], dim=-1)


def xyz_to_latlon(x: Tensor) -> Tensor:
    """(N, 3) points of S^2 -> (N, 2) latitude, longitude in degrees."""
    lat = torch.rad2deg(torch.asin(x[:, 2].clamp(-1, 1)))
    lon = torch.rad2deg(torch.atan2(x[:, 1], x[:, 0]))
    return torch.stack([lat, lon], dim=-1)


class ManifoldDistribution:
    """`sample(n, generator) -> (n, ambient)`, `log_prob(x) -> (N,)`, `entropy(n)` by Monte Carlo."""

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    def log_prob(self, x: Tensor) -> Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    def entropy(self, n: int = 200_000, seed: int = 0) -> float:
        """-E[log p(x)] by Monte Carlo over n draws (nats)."""
        x = self.sample(n, torch.Generator().manual_seed(seed)).double()
        return float(-self.log_prob(x).mean())


def _log_vmf_normaliser(kappa: Tensor) -> Tensor:
    """log C(kappa) = log kappa - log(2 pi) - kappa - log(1 - exp(-2 kappa)) (stable form of kappa / (4 pi sinh kappa))."""
    return torch.log(kappa) - math.log(2 * math.pi) - kappa - torch.log1p(-torch.exp(-2 * kappa))


@dataclass(frozen=True)
class VonMisesFisherMixture(ManifoldDistribution):
    """Mixture of vMF on S^2: means (K, 3) unit vectors, concentrations (K,), weights (K,) summing to 1."""

    means: Tensor
    kappas: Tensor
    weights: Tensor

    def log_prob(self, x: Tensor) -> Tensor:
        mu, k, w = (a.to(x.dtype) for a in (self.means, self.kappas, self.weights))
        comp = _log_vmf_normaliser(k)[None] + k[None] * (x @ mu.T)
        return torch.logsumexp(comp + torch.log(w)[None], dim=1)

    def responsibilities(self, x: Tensor) -> Tensor:
        """(N, K) posterior r_k(x) = w_k vMF_k(x) / p(x) of each component for x: (N, 3)."""
        mu, k, w = (a.to(x.dtype) for a in (self.means, self.kappas, self.weights))
        return torch.softmax(_log_vmf_normaliser(k)[None] + k[None] * (x @ mu.T) + torch.log(w)[None], dim=1)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return self.sample_components(torch.multinomial(self.weights.double(), n, replacement=True, generator=generator), generator)

    def sample_components(self, idx: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """(B, 3): one draw from component idx[i] for each i; idx: (B,) integer."""
        n = len(idx)
        mu, k = self.means.double()[idx], self.kappas.double()[idx]
        u = torch.rand(n, generator=generator, dtype=torch.float64)
        w = 1 + torch.log(u + (1 - u) * torch.exp(-2 * k)) / k  # <mu, x>, by inverting its CDF
        v = torch.randn((n, 3), generator=generator, dtype=torch.float64)
        v = v - (v * mu).sum(-1, keepdim=True) * mu
        v = v / v.norm(dim=-1, keepdim=True)
        x = w[:, None] * mu + torch.sqrt((1 - w * w).clamp_min(0))[:, None] * v
        return (x / x.norm(dim=-1, keepdim=True)).to(torch.get_default_dtype())


@dataclass(frozen=True)
class SphereCheckerboard(ManifoldDistribution):
    """Uniform on the cells (i, j) with i + j even of a lon_cells x z_cells grid (z = sin latitude)."""

    lon_cells: int = 8
    z_cells: int = 4

    def _cell(self, x: Tensor) -> tuple[Tensor, Tensor]:
        lon = torch.atan2(x[:, 1], x[:, 0]) + math.pi  # [0, 2 pi]
        i = (lon / (2 * math.pi) * self.lon_cells).floor().clamp(0, self.lon_cells - 1)
        j = ((x[:, 2].clamp(-1, 1) + 1) / 2 * self.z_cells).floor().clamp(0, self.z_cells - 1)
        return i, j

    def log_prob(self, x: Tensor) -> Tensor:
        i, j = self._cell(x)
        inside = (i + j) % 2 == 0
        level = -math.log(2 * math.pi)  # mass 1 on half of 4 pi
        return torch.where(inside, torch.full_like(i, level), torch.full_like(i, -math.inf)).to(x.dtype)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        cells = [(i, j) for i in range(self.lon_cells) for j in range(self.z_cells) if (i + j) % 2 == 0]
        pick = torch.randint(len(cells), (n,), generator=generator)
        cell = torch.tensor(cells, dtype=torch.float64)[pick]
        r = torch.rand((n, 2), generator=generator, dtype=torch.float64)
        lon = (cell[:, 0] + r[:, 0]) / self.lon_cells * 2 * math.pi - math.pi
        z = (cell[:, 1] + r[:, 1]) / self.z_cells * 2 - 1
        rho = torch.sqrt((1 - z * z).clamp_min(0))
        return torch.stack([rho * torch.cos(lon), rho * torch.sin(lon), z], dim=-1).to(torch.get_default_dtype())


@dataclass(frozen=True)
class WrappedNormalMixture(ManifoldDistribution):
    """Mixture on T^d of wrapped isotropic normals: means (K, d) angles, scales (K,), weights (K,)."""

    means: Tensor
    scales: Tensor
    weights: Tensor
    wraps: int = 3  # images m = -wraps..wraps of each angle (exact to double precision for scales <= 1)

    def log_prob(self, x: Tensor) -> Tensor:
        mu, s, w = (a.to(x.dtype) for a in (self.means, self.scales, self.weights))
        m = torch.arange(-self.wraps, self.wraps + 1, dtype=x.dtype, device=x.device) * 2 * math.pi
        diff = x[:, None, :, None] + m - mu[None, :, :, None]  # (N, K, d, M)
        per_angle = torch.logsumexp(-0.5 * (diff / s[None, :, None, None]) ** 2, dim=-1) - torch.log(s)[None, :, None] - 0.5 * math.log(2 * math.pi)
        return torch.logsumexp(per_angle.sum(-1) + torch.log(w)[None], dim=1)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        idx = torch.multinomial(self.weights.double(), n, replacement=True, generator=generator)
        z = torch.randn((n, self.means.shape[1]), generator=generator, dtype=torch.float64)
        return wrap(self.means.double()[idx] + self.scales.double()[idx, None] * z).to(torch.get_default_dtype())


def vmf_mixture() -> VonMisesFisherMixture:
    """The built-in `vmf-mixture`: four components at (lat, lon) (40, -100), (10, 20), (-30, 140), (60, 60), kappa 10-40."""
    lat = torch.tensor([40.0, 10.0, -30.0, 60.0], dtype=torch.float64)
    lon = torch.tensor([-100.0, 20.0, 140.0, 60.0], dtype=torch.float64)
    return VonMisesFisherMixture(latlon_to_xyz(lat, lon), torch.tensor([20.0, 10.0, 40.0, 15.0], dtype=torch.float64), torch.tensor([0.3, 0.3, 0.2, 0.2], dtype=torch.float64))


def wrapped_normal_mixture() -> WrappedNormalMixture:
    """The built-in `wrapped-normal-mixture` on T^2: four components, scales 0.3-0.6, one across the seam."""
    means = torch.tensor([[-2.0, -2.0], [0.5, 1.0], [3.0, 0.0], [-1.0, 2.8]], dtype=torch.float64)
    return WrappedNormalMixture(means, torch.tensor([0.4, 0.6, 0.3, 0.5], dtype=torch.float64), torch.full((4,), 0.25, dtype=torch.float64))


# name -> (manifold name, distribution factory): the built-in sets on curved spaces
CURVED_SETS = {
    "vmf-mixture": ("sphere", vmf_mixture),
    "sphere-checkerboard": ("sphere", SphereCheckerboard),
    "wrapped-normal-mixture": ("torus", wrapped_normal_mixture),
}
