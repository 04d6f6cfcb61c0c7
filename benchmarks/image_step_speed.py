"""Milliseconds per training step of the image preset (what `flowmatch train --data mnist` runs),
for option variants given as JSON, through `Trainer.train_step` on real MNIST digits.

    OMP_NUM_THREADS=1 python benchmarks/image_step_speed.py --data-dir ../shared/data/mnist-subset \\
        '{"fm": {"objective": "fm"}, "fm-bf16": {"objective": "fm", "precision": "bf16"}, "meanflow": {}}'

Each variant starts from the images and images-few-step presets (so `{}` is the few-step recipe's
MeanFlow step); prints the median of --repeats steps after 3 warm-up steps.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import torch  # noqa: E402

from flowmatch.training import TrainConfig, Trainer  # noqa: E402
from flowmatch.training.presets import load_preset  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("variants", help='JSON: {"name": {config key: value, ...}, ...}')
    p.add_argument("--data-dir", required=True)
    p.add_argument("--repeats", type=int, default=10)
    args = p.parse_args()
    torch.set_num_threads(1)
    base = {**load_preset("images"), **load_preset("images-few-step")}
    print("| variant | ms / step | images/s | parameters |\n|---|---|---|---|")
    for name, over in json.loads(args.variants).items():
        cfg = TrainConfig(**{**base, "data": "mnist", "data_dir": args.data_dir, "out": "unused", "steps": 10**6, **over})
        trainer = Trainer(cfg)
        trainer.model.train()
        for _ in range(3):
            trainer.train_step()
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            trainer.train_step()
            times.append(time.perf_counter() - start)
        trainer.pipeline.close()
        med = statistics.median(times)
        n = sum(q.numel() for q in trainer.model.parameters())
        print(f"| {name} | {med * 1000:.0f} | {cfg.batch_size / med:.0f} | {n / 1e6:.2f} M |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
