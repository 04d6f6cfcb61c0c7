"""MNIST benchmark: class-conditional U-Net flow with classifier-free guidance on a CPU budget.

    python benchmarks/mnist.py --data-dir DIR_WITH_MNIST_IDX_FILES --minutes 20

Trains on the MNIST train files for --minutes of wall time (or evaluates an existing run with
--run DIR), then prints a table: for guidance W in {0, 1, 2, 4} and NFE in {4, 10, 50} (midpoint
solver, NFE / 2 steps), the fraction of conditional samples that a small CNN classifier
(trained on the train split, cached on disk) assigns to the requested digit, the
classifier-feature FID against the test split, and sampling images/s. A 10x10 grid (one row
per digit, NFE 10, W = 2) is written to --grid.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import torch  # noqa: E402

from flowmatch import TrainConfig, train  # noqa: E402

GUIDANCE = (0.0, 1.0, 2.0, 4.0)
NFES = (4, 10, 50)


def bench_config(data_dir: str, minutes: float, out: str) -> TrainConfig:
    """The flow the benchmark trains: a small patch-2 U-Net (the fastest we measured on 2 shared cores)."""
    return TrainConfig(
        data="mnist",
        data_dir=data_dir,
        out=out,
        model="unet",
        channels=32,
        channel_mults="1,2",
        patch_size=2,
        num_res_blocks=1,
        batch_size=32,
        lr=2e-3,
        warmup_steps=100,
        steps=4000,
        ema_decay=0.995,  # short runs: a 0.999 EMA would still remember the first, blurry weights
        cond_drop=0.1,
        max_minutes=minutes,
        save_every=200,
        log_every=50,
        sample_every=500,
        progress=False,
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", required=True)
    p.add_argument("--minutes", type=float, default=20.0, help="training wall-time budget")
    p.add_argument("--out", default=str(ROOT / "runs" / "bench-mnist"), help="run directory")
    p.add_argument("--run", default=None, help="evaluate this existing run instead of training")
    p.add_argument("--n-eval", type=int, default=100, help="samples per (W, NFE) cell (a multiple of 10)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared 2-core CPU)")
    p.add_argument("--grid", default=str(ROOT / "docs" / "mnist_grid.png"))
    p.add_argument("--classifier-cache", default=str(ROOT / "runs" / "mnist-classifier.pt"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    run_dir = args.run
    if run_dir is None:
        cfg = bench_config(args.data_dir, args.minutes, args.out)
        res = train(cfg, resume=Path(args.out, "checkpoint.pt").exists())
        print(json.dumps({"trained": str(res.run_dir), "steps": res.step, "loss": round(res.loss, 4), "seconds": round(res.seconds, 1)}), flush=True)
        run_dir = args.out
    # imported here, after training (classifier + FID come from flowmatch.metrics and flowmatch.evaluation)
    from _mnist_eval import evaluate_mnist_run

    evaluate_mnist_run(run_dir, args.data_dir, guidance=GUIDANCE, nfes=NFES, n_eval=args.n_eval, grid=args.grid, classifier_cache=args.classifier_cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
