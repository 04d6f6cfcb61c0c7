"""Built-in 2D toy distributions, all scaled to lie roughly inside [-4, 4]^2.

circles and swissroll come from scikit-learn; moons is scikit-learn's `make_moons` distribution
(noise 0.1) drawn directly, because `make_moons` spends ~1 ms per call on argument checks and
evenly spaced angles, more than a whole training step of a small MLP; the others follow the usual
definitions of the normalising-flow literature (Grathwohl et al., FFJORD, 2019).
"""

from __future__ import annotations

import numpy as np

TOY_SETS = ("moons", "circles", "8gaussians", "checkerboard", "spirals", "swissroll", "pinwheel", "rings", "thinwide", "ringwidths", "thinspirals", "ringblob")


# the sets whose points come from discrete components, and their number (`toy_labelled`)
TOY_CLASSES = {"moons": 2, "circles": 2, "8gaussians": 8, "spirals": 2, "pinwheel": 5, "ringwidths": 4, "thinspirals": 2, "ringblob": 2}


def toy_sample(name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 2) float32 points of the toy set `name`, drawn with rng."""
    return toy_labelled(name, n, rng)[0]


def toy_labelled(name: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
    """(n, 2) float32 points of the toy set `name` and, for the sets in TOY_CLASSES, the (n,) int64
    component each point was drawn from (moons: 0 upper, 1 lower; circles: 0 outer, 1 inner;
    8gaussians: the centre at angle k pi / 4; spirals and thinspirals: the arm; pinwheel: the blade;
    ringwidths: the ring, innermost first; ringblob: 0 the blob, 1 the ring); else None.
    Long because it is one short branch per data set, kept side by side to compare them.
    The points are those `toy_sample` draws with the same rng."""
    from sklearn import datasets  # scikit-learn only where toy data is drawn

    seed = int(rng.integers(2**31 - 1))
    if name == "moons":
        # upper half circle, or the lower one shifted by (1, 0.5); i.i.d. angles (make_moons
        # spaces them evenly within a call, which has the same distribution in the limit)
        theta = np.pi * rng.random(n)
        upper = (rng.random(n) < 0.5)[:, None]
        circle = np.stack([np.cos(theta), np.sin(theta)], axis=1)
        x = np.where(upper, circle, np.array([1.0, 0.5]) - circle) + 0.1 * rng.standard_normal((n, 2))
        x = (x - np.array([0.5, 0.25])) * 2.0
        labels = (~upper[:, 0]).astype(np.int64)
    elif name == "circles":
        x, inner = datasets.make_circles(n, factor=0.5, noise=0.05, random_state=seed)
        x, labels = x * 3.0, inner.astype(np.int64)
    elif name == "swissroll":
        x, _ = datasets.make_swiss_roll(n, noise=1.0, random_state=seed)
        x = x[:, [0, 2]] / 4.0
    elif name == "8gaussians":
        angles = np.arange(8) * np.pi / 4
        centers = 3.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        labels = rng.integers(8, size=n)
        x = centers[labels] + 0.3 * rng.standard_normal((n, 2))
    elif name == "checkerboard":
        x1 = rng.random(n) * 4 - 2
        x2 = rng.random(n) - rng.integers(0, 2, n) * 2 + np.floor(x1) % 2
        x = np.stack([x1, x2], axis=1) * 2.0
    elif name == "spirals":
        r = np.sqrt(rng.random(n)) * 3 * np.pi
        arm = np.stack([-np.cos(r) * r, np.sin(r) * r], axis=1) + rng.random((n, 2)) * 0.5
        sign = rng.choice([-1.0, 1.0], size=(n, 1))  # which of the two arms
        x = sign * arm / 3.0 + 0.1 * rng.standard_normal((n, 2))
        labels = (sign[:, 0] > 0).astype(np.int64)
    elif name == "pinwheel":
        arms, rate = 5, 0.25
        labels = rng.integers(arms, size=n)
        feats = rng.standard_normal((n, 2)) * np.array([0.3, 0.1]) + np.array([1.0, 0.0])
        angle = 2 * np.pi * labels / arms + rate * np.exp(feats[:, 0])
        rot = np.stack([np.cos(angle), -np.sin(angle), np.sin(angle), np.cos(angle)], axis=1).reshape(n, 2, 2)
        x = 2.0 * np.einsum("ni,nij->nj", feats, rot)
    elif name == "rings":
        # four concentric thin rings (radii 1, 2, 3, 4; noise 0.08), mass in proportion to length:
        # thin curved sets are where one-step samplers smear most
        radius = rng.choice(np.arange(1, 5), size=n, p=np.arange(1, 5) / 10.0)
        angle = 2 * np.pi * rng.random(n)
        x = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1) + 0.08 * rng.standard_normal((n, 2))
    elif name == "thinwide":
        # half a wide Gaussian (std 0.7), a quarter a thin ring, a quarter a thin segment (noise
        # 0.04): one sampler must be good at both scales at once
        part = rng.choice(3, size=n, p=[0.5, 0.25, 0.25])
        angle, u = 2 * np.pi * rng.random(n), rng.random(n)
        wide = np.array([-2.0, 0.0]) + 0.7 * rng.standard_normal((n, 2))
        ring = np.array([2.0, 1.5]) + 1.2 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
        segment = np.array([1.0, -3.0]) + u[:, None] * np.array([2.5, 2.0])
        x = np.where(part[:, None] == 0, wide, np.where(part[:, None] == 1, ring, segment) + 0.04 * rng.standard_normal((n, 2)))
    elif name == "ringwidths":
        # four concentric rings (radii 1, 2, 3, 4) whose widths alternate thin and wide (noise 0.15,
        # 0.02, 0.1, 0.03), mass in proportion to length: thin rings next to wide ones
        labels = rng.choice(4, size=n, p=np.arange(1, 5) / 10.0)
        angle = 2 * np.pi * rng.random(n)
        width = np.array([0.15, 0.02, 0.1, 0.03])[labels]
        x = (labels + 1.0)[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1) + width[:, None] * rng.standard_normal((n, 2))
    elif name == "thinspirals":
        # two spiral arms of 1.5 turns with only a thin Gaussian spread (noise 0.04), uniform in arc length
        r = np.sqrt(rng.random(n)) * 3 * np.pi
        labels = rng.integers(2, size=n)
        sign = np.where(labels == 1, 1.0, -1.0)[:, None]
        x = sign * np.stack([-np.cos(r) * r, np.sin(r) * r], axis=1) / 2.5 + 0.04 * rng.standard_normal((n, 2))
    elif name == "ringblob":
        # half a wide Gaussian blob at the centre (std 1), half a thin ring of radius 3.2 around it
        # (noise 0.03): a wide and a thin part that one map must carry at once
        labels = (rng.random(n) < 0.5).astype(np.int64)
        angle = 2 * np.pi * rng.random(n)
        ring = 3.2 * np.stack([np.cos(angle), np.sin(angle)], axis=1) + 0.03 * rng.standard_normal((n, 2))
        x = np.where(labels[:, None] == 1, ring, rng.standard_normal((n, 2)))
    else:  # pragma: no cover - guarded by the caller
        raise KeyError(name)
    return x.astype(np.float32), (labels.astype(np.int64) if name in TOY_CLASSES else None)
