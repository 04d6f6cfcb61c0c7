"""The real-vs-real floor of the MNIST image benchmarks: the classifier-feature Fréchet distance
that real digits score against the test split, at the sample size the benchmarks use.

    python benchmarks/mnist_floor.py --data-dir ../shared/data/mnist-subset [--n 2000] [--draws 25]

Draws `--draws` random sets of `--n` train digits and prints the Fréchet distance of each to the
test split in the benchmark classifier's features (the classifier of benchmarks/images_peers.py
and benchmarks/mnist.py, cached in runs/mnist-classifier.pt), then their median: what a perfect
generator would score, and the unit of the targets "at most 2 (or 3) times the floor".
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


from _mnist_eval import FLOOR_DRAWS, real_vs_real_floor  # noqa: E402
from flowmatch.data import load_data  # noqa: E402
from flowmatch.evaluation import load_or_train_classifier  # noqa: E402
from flowmatch.metrics import classifier_features  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", required=True)
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--draws", type=int, default=FLOOR_DRAWS)
    p.add_argument("--classifier-cache", default=str(ROOT / "runs" / "mnist-classifier.pt"))
    args = p.parse_args()
    xtr, ytr = load_data("mnist", data_dir=args.data_dir).all()
    xte, _ = load_data("mnist", data_dir=args.data_dir, split="test").all()
    clf = load_or_train_classifier(args.classifier_cache, xtr, ytr, 10)
    fte = classifier_features(xte, clf)
    values = real_vs_real_floor(classifier_features(xtr, clf), fte, args.n, args.draws)
    print(
        json.dumps(
            {
                "n": args.n,
                "test_digits": len(xte),
                "floor_each": [round(v, 2) for v in values],
                "floor_min": round(min(values), 2),
                "floor_max": round(max(values), 2),
                "floor_median": round(statistics.median(values), 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
