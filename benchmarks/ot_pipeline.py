"""Cost per training step of minibatch-OT coupling vs independent coupling (batch 256, moons).

Runs the two back to back, `--repeats` times alternating, and prints the per-step seconds and
their ratio for each repeat and the median; also the synchronous (prefetch 0) OT cost.

    python benchmarks/ot_pipeline.py --steps 300 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from flowmatch.training import TrainConfig, Trainer  # noqa: E402


def per_step(coupling: str, prefetch: int, steps: int, tmp: str, data: str) -> float:
    cfg = TrainConfig(data=data, out=tmp, coupling=coupling, prefetch=prefetch, steps=steps, progress=False)
    tr = Trainer(cfg)
    tr.model.train()
    try:
        for _ in range(10):  # warm-up: threads started, allocator warm
            tr.train_step()
        start = time.perf_counter()
        for _ in range(steps):
            tr.train_step()
        return (time.perf_counter() - start) / steps
    finally:
        tr.pipeline.close()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--data", default="moons")
    p.add_argument("--prefetch", type=int, default=TrainConfig.prefetch)
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1: no OpenMP spinning on a shared CPU)")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            ind = per_step("independent", args.prefetch, args.steps, tmp, args.data)
            ot = per_step("ot", args.prefetch, args.steps, tmp, args.data)
            sync = per_step("ot", 0, args.steps, tmp, args.data)
            ind_sync = per_step("independent", 0, args.steps, tmp, args.data)
            rows.append((ind, ot, sync, ind_sync))
            print(f"repeat {r}: independent {ind*1e3:.2f} ms/step, ot {ot*1e3:.2f} ms/step, ratio {ot/ind:.2f}; "
                  f"synchronous: independent {ind_sync*1e3:.2f}, ot {sync*1e3:.2f} ms/step, ratio {sync/ind_sync:.2f}", flush=True)
    print(f"median ratio ot/independent (prefetch {args.prefetch}): {statistics.median(o / i for i, o, _, _ in rows):.2f}; "
          f"synchronous: {statistics.median(s / i for _, _, s, i in rows):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
