"""The spaces flows on curved spaces live on: the sphere S^d, the flat torus T^d, Euclidean space
and their products (exponential and logarithm maps, distances, projections, uniform draws),
distributions on them with closed-form densities (and a vMF mixture fitted to data), and `TangentVelocity`, a network as a field on
a manifold.

What is done on them lives with its kind: the geodesic path in `flowmatch.paths`
(`GeodesicPath`), the Riemannian loss in `flowmatch.loss`, the geodesic OT coupling in
`flowmatch.couplings`, the solvers in `flowmatch.solvers` (`solve_on_manifold`), the likelihood
in `flowmatch.likelihood` (`manifold_log_likelihood`), the geodesic W2 and MMD in
`flowmatch.metrics`.
"""

from flowmatch.errors import FlowmatchError
from flowmatch.manifolds.base import Manifold, sphere_log_volume
from flowmatch.manifolds.distributions import CURVED_SETS, SphereCheckerboard, VonMisesFisherMixture, WrappedNormalMixture, latlon_to_xyz, xyz_to_latlon
from flowmatch.manifolds.euclidean import Euclidean
from flowmatch.manifolds.fit import fit_vmf_mixture
from flowmatch.manifolds.product import Product
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
    "FlatTorus",
    "MANIFOLDS",
    "Manifold",
    "Product",
    "Sphere",
    "SphereCheckerboard",
    "TangentVelocity",
    "VonMisesFisherMixture",
    "WrappedNormalMixture",
    "latlon_to_xyz",
    "fit_vmf_mixture",
    "make_manifold",
    "sphere_log_volume",
    "wrap",
    "xyz_to_latlon",
]
