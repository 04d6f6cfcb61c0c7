"""Score one MNIST run directory under several samplers, as benchmarks/images_peers.py scores it
(2,000 samples, 200 per digit, source seed 2, the benchmark's classifier; FD against the test split):

    python benchmarks/experiments/stage_probe.py RUN_DIR euler:10:0 rk4:4:0:bf16 midpoint:5:2

Each cell is SOLVER:STEPS:W[:bf16][:iLO-HI][:rPHI] (W: guidance weight, 0 unconditional; bf16: under
bf16 autocast; iLO-HI: guidance only for t in [LO, HI], conditional elsewhere; rPHI: guidance rescale
PHI, default 0 whatever the run's own). Scores each stage of the few-step chain (docs/benchmarks/index.md, "MNIST in 20 minutes on
one CPU core"). Prints one JSON line per cell.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from flowmatch.data import load_data  # noqa: E402
from flowmatch.evaluation import load_or_train_classifier  # noqa: E402
from flowmatch.guidance import GuidedVelocity  # noqa: E402
from flowmatch.metrics import classifier_features, classify, frechet_distance  # noqa: E402
from flowmatch.runs import load_run  # noqa: E402
from flowmatch.solvers import solve  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "mnist-subset"


def main(argv: list[str]) -> int:
    torch.set_num_threads(1)
    run = load_run(argv[0], device="cpu")
    xtr, ytr = load_data("mnist", data_dir=str(DATA)).all()
    xte, _ = load_data("mnist", data_dir=str(DATA), split="test").all()
    clf = load_or_train_classifier(ROOT / "runs" / "mnist-classifier.pt", xtr, ytr, 10)
    fte = classifier_features(xte, clf)
    y = torch.arange(10).repeat_interleave(200)
    x0 = torch.randn(len(y), 1, 28, 28, generator=torch.Generator().manual_seed(2))
    for cell in argv[1:]:
        method, steps, w, *opts = cell.split(":")
        bf16 = "bf16" in opts
        interval = next((tuple(map(float, o[1:].split("-"))) for o in opts if o.startswith("i")), None)
        rescale = next((float(o[1:]) for o in opts if o.startswith("r")), 0.0)
        start = time.perf_counter()
        velocity = GuidedVelocity(run.model, y, float(w), run.data.num_classes, interval=interval, rescale=rescale)
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            x = solve(velocity, x0, method=method, steps=int(steps)).x.float().clamp(-1, 1)
        acc = float((classify(x, clf) == y).float().mean())
        fd = frechet_distance(classifier_features(x, clf), fte)
        print(json.dumps({"run": argv[0], "cell": cell, "acc": round(acc, 4), "fd": round(fd, 2), "seconds": round(time.perf_counter() - start, 1)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
