"""Metrics of a trained run against reference data: sample distances, Fréchet distance, NLL.

`evaluate_run` returns a dict of metric -> value for one sampler.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import Tensor

from flowmatch.data import load_data
from flowmatch.errors import FlowmatchError
from flowmatch.evaluation.fid import inception_fid, inception_weights
from flowmatch.metrics import energy_distance, frechet_distance, geodesic_mmd, geodesic_w2, mmd, sliced_wasserstein2, wasserstein2
from flowmatch.runs import Run, run_log_likelihood, sample_run
from flowmatch.runs.run import point_options, space_of

SAMPLE_METRICS = ("w2", "sliced_w2", "mmd", "energy")
# on a manifold: W2 with the geodesic cost and an MMD with a Gaussian kernel of the geodesic distance
MANIFOLD_METRICS = ("w2", "mmd", "nll")
DEFAULT_METRICS, DEFAULT_MANIFOLD_METRICS = "w2,sliced_w2,mmd,energy", "w2,mmd"


def default_metrics(run: Run) -> str:
    """The metrics `flowmatch eval` reports when none are named."""
    return DEFAULT_METRICS if space_of(run) is None else DEFAULT_MANIFOLD_METRICS


# "fd": Fréchet distance in the space of a feature extractor passed as `feature_fn` (the hook
# for the MNIST classifier's features); "nll": negative log-likelihood of the reference points.
# "fid": Inception FID of image samples against the reference images (torch-fidelity, local weights).
METRICS = SAMPLE_METRICS + ("fd", "fid", "nll")


def metric_functions() -> dict[str, Callable]:
    return {"w2": wasserstein2, "sliced_w2": sliced_wasserstein2, "mmd": mmd, "energy": energy_distance}


def parse_list(text: str | Sequence[str], allowed: Sequence[str], what: str) -> list[str]:
    """'a,b' or ['a', 'b'] -> ['a', 'b'], every item checked against `allowed`."""
    items = [s.strip() for s in (text.split(",") if isinstance(text, str) else text) if s.strip()]
    if not items:
        raise FlowmatchError(f"no {what} given")
    for item in items:
        if item not in allowed:
            raise FlowmatchError(f"unknown {what} {item!r}; choose from {', '.join(allowed)}")
    return items


def reference_samples(run: Run, ref: str | None, n: int, seed: int, *, data_dir: str | None = None, download: bool = False) -> Tensor:
    """(n, *D) reference points: fresh draws from the run's data set or the DATA spec `ref`
    (a file gives up to n of its own points, in random order, without repeats). An image run
    with ref=None uses up to n distinct images of its data set's test split, read from
    `data_dir` (default: the run's own) and fetched there first if `download`."""
    if ref is None and len(run.data.shape) == 3 and not hasattr(run.data, "all"):  # a loaded image run
        c = run.config
        images, _ = load_data(c.data, data_dir=data_dir or c.data_dir, image_size=c.image_size, download=download, split="test").all()
        if tuple(images.shape[1:]) != tuple(run.data.shape):
            raise FlowmatchError(f"test images have shape {tuple(images.shape[1:])} but the run's data have shape {tuple(run.data.shape)}")
        return images[torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:n]]
    source = run.data if ref is None else load_data(ref, **point_options(run.config))
    if tuple(source.shape) != tuple(run.data.shape):
        raise FlowmatchError(f"reference data have shape {tuple(source.shape)} but the run's data have shape {tuple(run.data.shape)}")
    g = torch.Generator().manual_seed(seed)
    points = getattr(source, "points", None)
    if points is not None:  # a finite file: distinct points, not draws with replacement
        if len(points) < 2:
            raise FlowmatchError(f"reference data {ref or run.config.data!r} hold {len(points)} point; metrics need at least 2")
        return points[torch.randperm(len(points), generator=g)[:n]]
    return source.sample(n, g).x


def sample_metrics(samples: Tensor, ref: Tensor, names: Sequence[str], feature_fn: Callable[[Tensor], Tensor] | None = None, ref_features: Tensor | None = None) -> dict[str, float]:
    """Each named sample metric between samples (N, *D) and reference points (M, *D); 'fd'
    compares feature_fn(samples) with ref_features (default feature_fn(ref)), both (·, F)."""
    fns = metric_functions()
    out = {name: float(fns[name](samples, ref)) for name in names if name not in ("fd", "fid")}
    if "fid" in names:
        out["fid"] = inception_fid(samples, ref)
    if "fd" in names:
        need_features(names, feature_fn)
        with torch.no_grad():
            if ref_features is None:
                ref_features = feature_fn(ref.to(samples.device))
            out["fd"] = frechet_distance(feature_fn(samples), ref_features)
    return out


def need_features(metrics: Sequence[str], feature_fn) -> None:
    if "fd" in metrics and feature_fn is None:
        raise FlowmatchError("metric 'fd' needs a feature extractor (feature_fn), e.g. the MNIST classifier's features")


def evaluate_run(
    run: Run,
    ref: Tensor,
    metrics: Sequence[str] = ("w2",),
    *,
    n: int = 1000,
    method: str | None = None,
    steps: int | None = None,
    seed: int = 0,
    nll_probes: int | None = None,
    feature_fn: Callable[[Tensor], Tensor] | None = None,
) -> dict:
    """Metrics of a run's samples (n of them, from `method`/`steps`, by default the run's
    recommended sampler) against ref: (M, *D).

    'nll' is the mean negative log-likelihood of the reference points under the model (nats),
    with its standard error as 'nll_se'; nll_probes=None uses the exact trace in low dimension.
    'fd' is the Fréchet distance between Gaussians fitted to feature_fn(samples) and
    feature_fn(ref), feature_fn: (N, *D) -> (N, F), e.g. a classifier's penultimate layer.
    """
    metrics = parse_list(list(metrics), METRICS, "metric")
    manifold = space_of(run)
    if manifold is not None:
        metrics = parse_list(metrics, MANIFOLD_METRICS, f"metric on the {manifold.name}")
    out: dict = {"n": n}
    need_features(metrics, feature_fn)
    if "fid" in metrics:
        inception_weights()  # what is missing is said before any sampling
    wanted = [m for m in metrics if m in SAMPLE_METRICS + ("fd", "fid")]
    if wanted:
        res = sample_run(run, n, method=method, steps=steps, seed=seed)
        out.update({"solver": res.method, "steps": res.steps, "nfe": res.nfe})
        if manifold is not None:
            fns = {"w2": geodesic_w2, "mmd": geodesic_mmd}
            out.update({name: fns[name](manifold, res.x.cpu(), ref.cpu()) for name in wanted})
        else:
            out.update(sample_metrics(res.x.cpu(), ref, wanted, feature_fn))
    if "nll" in metrics:
        kw = {} if nll_probes is None else {"exact": False, "probes": nll_probes}
        lik = run_log_likelihood(run, ref[:n], seed=seed, **kw)
        out.update({"nll": lik.nll, "nll_se": lik.nll_se, "nll_nfe": lik.nfe})
        if lik.bpd is not None:
            out["bpd"] = lik.bpd
    return out


__all__ = ["METRICS", "SAMPLE_METRICS", "evaluate_run", "metric_functions", "parse_list", "reference_samples", "sample_metrics"]
