"""`TangentVelocity`: a network made a vector field on a manifold.

The network sees the manifold's features of x (`embed`), and its output is brought back to the
tangent space at x (`to_tangent`: the orthogonal projection for the sphere). Inputs are first
put on the manifold (`projx`), so the field is defined around it and constant along normals:
a Runge-Kutta stage a little off the sphere sees the field of the nearest point.
"""

from __future__ import annotations

from torch import Tensor, nn

from flowmatch.manifolds.base import Manifold


class TangentVelocity(nn.Module):
    """v(x, t, **cond) = to_tangent(pi(x), net(embed(pi(x)), t, **cond)), pi = projx; x: (B, n)."""

    def __init__(self, net: nn.Module, manifold: Manifold, project: bool = True):
        super().__init__()
        self.net, self.manifold, self.project = net, manifold, project

    def forward(self, x: Tensor, t: Tensor, **cond: Tensor) -> Tensor:
        m = self.manifold
        x = m.projx(x)
        out = self.net(m.embed(x), t, **cond)
        return m.to_tangent(x, out) if self.project else out
