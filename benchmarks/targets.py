"""Prediction targets: velocity vs x1 vs epsilon, on points (moons) and on images on a small budget.

Each target trains the same model with the loss in its own parameterisation (`--target`), and is
sampled through its conversion to a velocity (flowmatch.paths.targets).

- moons (from a Gaussian, condot path, MLP 3x128, batch 256, --steps steps, per seed): exact W2
  of 2,000 samples against 2,000 fresh points (median over 3 reference draws) at NFE 1 (Euler),
  2, 4, 8 (midpoint) and adaptive (dopri5); medians over the seeds.
- digits (scikit-learn's 8x8, nothing to fetch) or mnist (--data-dir with the IDX files): a
  class-conditional U-Net (32 channels, multipliers 1,2; patch 2 for MNIST) for --steps steps at
  batch 64; 1,000 samples (100 per digit, guidance 1) at NFE 2, 4, 10, 50 (midpoint), scored by
  a small CNN trained on the train split: the fraction classified as asked, and the Fréchet
  distance of its features to the test split.

    OMP_NUM_THREADS=1 python benchmarks/targets.py --data moons --steps 3000 --seeds 0,1,2
    OMP_NUM_THREADS=1 python benchmarks/targets.py --data digits --steps 1500
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import torch  # noqa: E402

from flowmatch import TrainConfig, load_run, train  # noqa: E402
from flowmatch.paths import TARGETS  # noqa: E402
from flowmatch.runs import sample_run  # noqa: E402

POINT_SETTINGS = [("NFE 1", "euler", 1), ("NFE 2", "midpoint", 1), ("NFE 4", "midpoint", 2), ("NFE 8", "midpoint", 4), ("adaptive", "dopri5", 1)]
IMAGE_NFES = (2, 4, 10, 50)


def points(args) -> None:
    from flowmatch.data import load_data
    from flowmatch.metrics import wasserstein2

    data = load_data("moons")
    g = torch.Generator().manual_seed(10_000)
    refs = [data.sample(2000, g).x for _ in range(3)]
    rows = {t: [] for t in TARGETS}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in [int(s) for s in args.seeds.split(",")]:
            for target in TARGETS:
                out = Path(tmp) / f"{target}-{seed}"
                start = time.perf_counter()
                train(TrainConfig(data="moons", out=str(out), target=target, steps=args.steps, seed=seed, progress=False, save_every=args.steps))
                run = load_run(out)
                row = {"target": target, "seed": seed, "train_s": round(time.perf_counter() - start, 1)}
                for name, method, steps in POINT_SETTINGS:
                    res = sample_run(run, 2000, method=method, steps=steps, seed=seed + 1)
                    row[name] = statistics.median(wasserstein2(res.x, r) for r in refs)
                    if method == "dopri5":
                        row["adaptive nfe"] = res.nfe
                rows[target].append(row)
                print(json.dumps(row), flush=True)
    print("\n| target | " + " | ".join(n for n, _, _ in POINT_SETTINGS) + " |")
    print("|---|" + "---|" * len(POINT_SETTINGS))
    for target, rs in rows.items():
        cells = [f"{statistics.median(r[n] for r in rs):.3f}" for n, _, _ in POINT_SETTINGS]
        cells[-1] += f" (NFE {statistics.median(r['adaptive nfe'] for r in rs):.0f})"
        print(f"| {target} | " + " | ".join(cells) + " |")


def images(args) -> None:
    from flowmatch.data import load_data
    from flowmatch.evaluation import load_or_train_classifier
    from flowmatch.metrics import classifier_features, classify, frechet_distance

    train_set, test_set = load_data(args.data, data_dir=args.data_dir), load_data(args.data, data_dir=args.data_dir, split="test")
    xtr, ytr = train_set.all()
    xte, _ = test_set.all()
    with tempfile.TemporaryDirectory() as tmp:
        clf = load_or_train_classifier(Path(tmp) / "clf.pt", xtr, ytr, 10)
        fte = classifier_features(xte, clf)
        y = torch.arange(10).repeat_interleave(100)
        print("| target | train s | " + " | ".join(f"NFE {n}: as asked / FD" for n in IMAGE_NFES) + " |")
        print("|---|---|" + "---|" * len(IMAGE_NFES), flush=True)
        for target in TARGETS:
            out = Path(tmp) / target
            cfg = TrainConfig(
                data=args.data, data_dir=args.data_dir, out=str(out), target=target, model="unet", channels=32, channel_mults="1,2", patch_size=2 if args.data == "mnist" else 1,
                batch_size=64, lr=2e-3, warmup_steps=100, steps=args.steps, ema_decay=0.995, device=args.device, save_every=args.steps, progress=False,
            )  # fmt: skip
            res = train(cfg)
            run = load_run(out, device=args.device)
            cells = []
            for nfe in IMAGE_NFES:
                x = sample_run(run, len(y), method="midpoint", steps=nfe // 2, seed=1, y=y).x.clamp(-1, 1).cpu()
                acc = float((classify(x, clf) == y).float().mean())
                cells.append(f"{100 * acc:.1f}% / {frechet_distance(classifier_features(x, clf), fte):.2f}")
            print(f"| {target} | {res.seconds:.0f} | " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", choices=["moons", "digits", "mnist"], default="moons")
    ap.add_argument("--data-dir", default="data")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    points(args) if args.data == "moons" else images(args)


if __name__ == "__main__":
    main()
