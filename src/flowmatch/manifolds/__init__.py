"""Flows on curved spaces: manifolds, geodesic paths, the Riemannian loss, solvers and likelihoods.

`make_manifold(name, dim)` gives the sphere S^d, the flat torus T^d or Euclidean space;
`GeodesicPath` the conditional paths, `riemannian_fm_loss` the objective, `TangentVelocity` a
network as a field on the manifold, `solve_on_manifold` and `manifold_log_likelihood` sampling
and densities (w.r.t. the volume measure).
"""

from flowmatch.errors import FlowmatchError
from flowmatch.manifolds.base import Manifold, sphere_log_volume
from flowmatch.manifolds.coupling import GeodesicCoupling, geodesic_ot_permutation
from flowmatch.manifolds.distributions import CURVED_SETS, SphereCheckerboard, VonMisesFisherMixture, WrappedNormalMixture, latlon_to_xyz, xyz_to_latlon
from flowmatch.manifolds.euclidean import Euclidean
from flowmatch.manifolds.likelihood import manifold_log_likelihood, riemannian_divergence
from flowmatch.manifolds.loss import riemannian_fm_loss
from flowmatch.manifolds.metrics import geodesic_mmd, geodesic_w2
from flowmatch.manifolds.paths import GeodesicPath
from flowmatch.manifolds.product import Product
from flowmatch.manifolds.solvers import MANIFOLD_SOLVERS, ExpMap, Projected, manifold_stepper, solve_on_manifold
from flowmatch.manifolds.sphere import Sphere
from flowmatch.manifolds.torus import FlatTorus, wrap
from flowmatch.manifolds.velocity import TangentVelocity

MANIFOLDS = ("euclidean", "sphere", "torus")


def make_manifold(name: str, dim: int) -> Manifold:
    """The manifold `name` (one of MANIFOLDS) of intrinsic dimension `dim` (the sphere S^dim lives in R^(dim+1))."""
    if name == "sphere":
        return Sphere(dim)
    if name == "torus":
        return FlatTorus(dim)
    if name == "euclidean":
        return Euclidean(dim)
    raise FlowmatchError(f"unknown manifold {name!r}; choose one of {', '.join(MANIFOLDS)}")


__all__ = [
    "CURVED_SETS",
    "Euclidean",
    "ExpMap",
    "FlatTorus",
    "GeodesicCoupling",
    "GeodesicPath",
    "MANIFOLDS",
    "MANIFOLD_SOLVERS",
    "Manifold",
    "Product",
    "Projected",
    "Sphere",
    "SphereCheckerboard",
    "TangentVelocity",
    "VonMisesFisherMixture",
    "WrappedNormalMixture",
    "geodesic_mmd",
    "geodesic_ot_permutation",
    "geodesic_w2",
    "latlon_to_xyz",
    "make_manifold",
    "manifold_log_likelihood",
    "manifold_stepper",
    "riemannian_divergence",
    "riemannian_fm_loss",
    "solve_on_manifold",
    "sphere_log_volume",
    "wrap",
    "xyz_to_latlon",
]
