"""Cost per training step of minibatch-OT coupling vs independent coupling (batch 256, 2D data).

Runs independent coupling and exact OT (whole batch, and within blocks of `--blocks` rows),
back to back, `--repeats` times alternating, and prints the per-step milliseconds, each ratio
to independent coupling for each repeat, and the medians. OT batches are solved ahead in the
pipeline's worker threads (`--prefetch`); `--prefetch 0` shows the synchronous cost.

    python benchmarks/ot_pipeline.py --steps 1000 --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from flowmatch.training import BaseCallback, TrainConfig, Trainer  # noqa: E402


def per_step(coupling: str, block: int, prefetch: int, steps: int, tmp: str, data: str, batch: int) -> float:
    cfg = TrainConfig(data=data, out=tmp, coupling=coupling, ot_block=block, prefetch=prefetch, steps=steps + 20, batch_size=batch, progress=False)
    tr = Trainer(cfg)
    tr.fit([_StopAfter(20)])  # warm-up: threads started, allocator warm
    start = time.perf_counter()
    tr.fit([_StopAfter(steps)])
    return (time.perf_counter() - start) / steps


class _StopAfter(BaseCallback):
    """Ends a fit after n more steps (this benchmark times steps, not whole runs)."""

    def __init__(self, n: int):
        self.n = n

    def on_fit_start(self, trainer) -> None:
        self.stop_at = trainer.step + self.n

    def on_step_end(self, trainer, loss: float) -> None:
        if trainer.step >= self.stop_at:
            trainer.request_stop("steps")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--data", default="moons")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--blocks", default="128,64", help="comma list of OT block sizes to time besides the whole batch")
    p.add_argument("--prefetch", type=int, default=TrainConfig.prefetch)
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1: the OT solves get the other core)")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    variants = [("independent", 0)] + [("ot", 0)] + [("ot", int(b)) for b in args.blocks.split(",") if b]
    names = ["independent" if c == "independent" else (f"ot block {b}" if b else "ot") for c, b in variants]
    times: dict[str, list[float]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for name, (coupling, block) in zip(names, variants):
                times[name].append(per_step(coupling, block, args.prefetch, args.steps, tmp, args.data, args.batch))
            ind = times["independent"][-1]
            print(f"repeat {r}: " + ", ".join(f"{n} {times[n][-1] * 1e3:.2f} ms ({times[n][-1] / ind:.2f}x)" for n in names), flush=True)
    print(f"medians over {args.repeats} repeats (batch {args.batch}, {args.data}, prefetch {args.prefetch}, {args.threads} torch thread):")
    for n in names:
        ratios = [t / i for t, i in zip(times[n], times["independent"])]
        print(f"  {n:14s} {statistics.median(times[n]) * 1e3:6.2f} ms/step   ratio to independent {statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
