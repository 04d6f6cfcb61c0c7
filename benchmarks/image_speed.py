"""Training-step speed of the MNIST benchmark's U-Net on this machine: fp32 vs bf16 autocast vs
channels_last, 1 vs 2 torch threads.

    python benchmarks/image_speed.py [--batch-size 32] [--repeats 5]

Prints a markdown table of seconds per training step (median of --repeats, after one warm-up).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import torch  # noqa: E402

from flowmatch.models import build_model  # noqa: E402


def step_time(threads: int, precision: str, channels_last: bool, batch: int, repeats: int) -> float:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    m = build_model("unet", (1, 28, 28), num_classes=10, channels=32, channel_mults="1,2", patch_size=2)
    x, t, y = torch.randn(batch, 1, 28, 28), torch.rand(batch), torch.randint(10, (batch,))
    if channels_last:
        m, x = m.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = (m(x, t, y=y).float() - x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    print(f"U-Net channels 32, mults 1,2, patch 2 (the MNIST benchmark's), batch {args.batch_size}, 28x28\n")
    print("| threads | precision | memory format | s / step |")
    print("|---|---|---|---|")
    for threads, precision, cl in [(1, "fp32", False), (1, "bf16", False), (1, "fp32", True), (2, "fp32", False)]:
        s = step_time(threads, precision, cl, args.batch_size, args.repeats)
        print(f"| {threads} | {precision} | {'channels_last' if cl else 'contiguous'} | {s:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
