"""One process vs torchrun with several: wall time, steps/s, and how far the weights drift apart.

    python benchmarks/ddp.py --steps 200 --nproc 2 [-- extra 'flowmatch train' flags]

Runs `flowmatch train` once in one process and once under torchrun with the same global batch,
then prints a Markdown table: processes, seconds (whole command, start-up included), steps/s
of the training loop (mean over log.jsonl after the first record) and max |w - w_1proc| over
the final weights. The last column is the DDP equivalence claim measured on a longer run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

SRC = Path(__file__).resolve().parents[1] / "src"


def run(cmd: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"error: command failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return time.perf_counter() - start


def steps_per_s(run_dir: Path) -> float:
    rates = [json.loads(x)["steps_per_s"] for x in (run_dir / "log.jsonl").read_text().splitlines()][1:]
    return sum(rates) / max(len(rates), 1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--nproc", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("extra", nargs="*", help="more 'flowmatch train' flags, after --")
    args = p.parse_args()
    common = [
        "train",
        "--data",
        "moons",
        "--steps",
        str(args.steps),
        "--batch-size",
        str(args.batch_size),
        "--log-every",
        str(max(1, args.steps // 10)),
        "--save-every",
        str(args.steps),
        "--no-progress",
        *args.extra,
    ]
    with tempfile.TemporaryDirectory() as tmp:
        one, many = Path(tmp) / "one", Path(tmp) / "many"
        t1 = run([sys.executable, "-m", "flowmatch", *common, "--out", str(one)])
        tn = run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(args.nproc), "-m", "flowmatch", *common, "--out", str(many)])
        w1 = torch.load(one / "checkpoint.pt", weights_only=True)["model"]
        wn = torch.load(many / "checkpoint.pt", weights_only=True)["model"]
        drift = max((w1[k] - wn[k]).abs().max().item() for k in w1)
        print(f"steps {args.steps}, global batch {args.batch_size}, extra flags {' '.join(args.extra) or '-'}\n")
        print("| processes | seconds | steps/s | max abs weight difference to 1 process |")
        print("|---|---|---|---|")
        print(f"| 1 | {t1:.1f} | {steps_per_s(one):.1f} | 0 |")
        print(f"| {args.nproc} | {tn:.1f} | {steps_per_s(many):.1f} | {drift:.2e} |")


if __name__ == "__main__":
    main()
