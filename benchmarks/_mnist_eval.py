"""Evaluation half of benchmarks/mnist.py: classifier accuracy and classifier-feature FID of
guided samples over a (W, NFE) table, sampling speed, and a 10x10 grid."""

from __future__ import annotations

import json
import statistics
import time

import torch

from flowmatch.data import load_data
from flowmatch.evaluation import load_or_train_classifier
from flowmatch.guidance import GuidedVelocity
from flowmatch.metrics import classifier_features, classify, frechet_distance
from flowmatch.runs import load_run, sample_source, save_image_grid
from flowmatch.solvers import solve

GRID_W, GRID_NFE = 2.0, 10
# the floor is a median over draws, not one draw: on the MNIST subset's 1,000 test digits, 40
# draws of 2,000 train digits scored 2.98-7.32 (median 4.6), so one draw is a noisy unit
FLOOR_DRAWS = 25


def real_vs_real_floor(train_features, test_features, n, draws=FLOOR_DRAWS, seed=0):
    """Fréchet distances to `test_features` (M, F) of `draws` random sets of n rows of
    `train_features` (N, F): what a perfect generator's n samples score; the floor is their median."""
    g = torch.Generator().manual_seed(seed)
    return [frechet_distance(train_features[torch.randperm(len(train_features), generator=g)[:n]], test_features) for _ in range(draws)]


def evaluate_mnist_run(run_dir, data_dir, guidance, nfes, n_eval, grid, classifier_cache):
    t0 = time.perf_counter()
    train_set = load_data("mnist", data_dir=data_dir)
    test_set = load_data("mnist", data_dir=data_dir, split="test")
    xtr, ytr = train_set.all()
    xte, yte = test_set.all()
    clf = load_or_train_classifier(classifier_cache, xtr, ytr, 10)
    test_acc = float((classify(xte, clf) == yte).float().mean())
    fte = classifier_features(xte, clf)
    floor = statistics.median(real_vs_real_floor(classifier_features(xtr, clf), fte, n_eval))
    print(json.dumps({"classifier_test_accuracy": round(test_acc, 4), "fid_floor_train_vs_test": round(floor, 3), "n_eval": n_eval, "seconds": round(time.perf_counter() - t0, 1)}), flush=True)

    run = load_run(run_dir, device="cpu")
    per = n_eval // 10
    y = torch.arange(10).repeat_interleave(per)
    rows = []
    print(f"\nrun {run_dir} (step {run.step}); midpoint solver, NFE = 2 x steps; {len(y)} samples per cell\n")
    print("| W | NFE | classified as requested | FID (classifier features) | images/s |")
    print("|---|---|---|---|---|", flush=True)
    for w in guidance:
        for nfe in nfes:
            x0 = sample_source(run, len(y), seed=0)
            velocity = GuidedVelocity(run.model, y, w, run.data.num_classes)
            start = time.perf_counter()
            with torch.no_grad():
                x = solve(velocity, x0, method="midpoint", steps=nfe // 2).x.clamp(-1, 1)
            rate = len(y) / (time.perf_counter() - start)
            acc = float((classify(x, clf) == y).float().mean())
            fid = frechet_distance(classifier_features(x, clf), fte)
            rows.append({"W": w, "NFE": nfe, "accuracy": round(acc, 4), "fid": round(fid, 3), "images_per_s": round(rate, 1)})
            print(f"| {w:g} | {nfe} | {100 * acc:.1f}% | {fid:.2f} | {rate:.1f} |", flush=True)
            if w == GRID_W and nfe == GRID_NFE and grid:
                keep = torch.cat([torch.arange(c * per, c * per + min(per, 10)) for c in range(10)])
                save_image_grid(x[keep], grid, ncol=min(per, 10))
    print(json.dumps({"rows": rows}), flush=True)
    return rows
