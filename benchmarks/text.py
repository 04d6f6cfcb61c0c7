"""Character-level text: a discrete flow (`flowmatch train --data FILE.txt`) against an
autoregressive transformer of the same size, trained for the same minutes at the same time.

Tiny Shakespeare (`tinyshakespeare.txt` of the development data) on nanoGPT's split (first 90% of the
characters to train on, last 10% to validate). Both models are the same transformer (width
`--width`, `--layers` blocks, `--heads` heads, windows of `--seq-len` characters, batch
`--batch-size`, rotary positions unless `--positions learned`, AdamW at the flow's default rate
for text, 2e-3, with a cosine schedule sized to the time budget), each trained in its own process
of one thread, side by side: the flow's is bidirectional and conditioned on time (flowmatch's `transformer`, trained by
`flowmatch train` with its defaults for text: mask source, linear kappa, cross-entropy of the
masked characters, EMA); the reference is the same blocks made causal, predicting the next
character (benchmarks only, not a product feature). Reported: validation nats per character of each (the flow's is its bound, an
upper bound on its true loss, on non-overlapping windows; the reference's is its cross-entropy on
the same windows), their ratio, and samples (the flow at several step counts).

    OMP_NUM_THREADS=1 python benchmarks/text.py --minutes 20
    OMP_NUM_THREADS=1 python benchmarks/text.py --minutes 0.3 --out /tmp/text-smoke   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from flowmatch.data import TextData  # noqa: E402
from flowmatch.models.tokens import TransformerBlock  # noqa: E402
from flowmatch.runs import load_run, run_bound, sample_tokens, train  # noqa: E402
from flowmatch.training import TrainConfig  # noqa: E402
from flowmatch.training.optim import lr_factor  # noqa: E402

TEXT = ROOT.parent / "shared" / "data" / "text" / "tinyshakespeare.txt"


class CausalTransformer(nn.Module):
    """The flow's transformer with causal attention and no time input: logits of the next character."""

    def __init__(self, vocab: int, seq_len: int, dim: int, layers: int, heads: int, positions: str):
        super().__init__()
        self.token_embed = nn.Embedding(vocab, dim)
        self.pos_embed = None if positions == "rope" else nn.Parameter(torch.randn(seq_len, dim) * 0.02)
        self.blocks = nn.ModuleList(TransformerBlock(dim, heads, causal=True, rope=positions == "rope") for _ in range(layers))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab)

    def forward(self, x: Tensor) -> Tensor:
        h = self.token_embed(x) if self.pos_embed is None else self.token_embed(x) + self.pos_embed[: x.shape[1]]
        c = torch.zeros(x.shape[0], h.shape[-1])  # no conditioning: the blocks' modulations are their biases
        for block in self.blocks:
            h = block(h, c)
        return self.head(self.norm(h))


def train_reference(data: TextData, args: argparse.Namespace) -> tuple[nn.Module, int]:
    """Next-character cross-entropy for `args.minutes`, cosine schedule planned from the pace of the first tenth."""
    torch.manual_seed(args.seed)
    model = CausalTransformer(data.vocab_size, args.seq_len, args.width, args.layers, args.heads, args.positions)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    g = torch.Generator().manual_seed(args.seed)
    start, step, planned = time.perf_counter(), 0, 10**9
    budget = args.minutes * 60
    while (elapsed := time.perf_counter() - start) < budget:
        if planned == 10**9 and elapsed > budget / 10 and step > 0:
            planned = int(step * budget / elapsed)
        for group in opt.param_groups:
            group["lr"] = args.lr * lr_factor("cosine", 0, max(planned, step + 1), step)
        x = data.sample(args.batch_size, g).x
        logits = model(x[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
    return model.eval(), step


@torch.no_grad()
def reference_loss(model: nn.Module, windows: Tensor) -> float:
    """Mean next-character cross-entropy (nats) over the windows, every position after the first."""
    total, count = 0.0, 0
    for batch in windows.split(256):
        logits = model(batch[:, :-1])
        total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1), reduction="sum"))
        count += batch[:, 1:].numel()
    return total / count


@torch.no_grad()
def reference_sample(model: nn.Module, data: TextData, n: int, seed: int) -> list[str]:
    """n windows of seq_len characters, each started from a newline, by ancestral sampling."""
    g = torch.Generator().manual_seed(seed)
    x = torch.full((n, 1), data.vocabulary.index("\n"))
    while x.shape[1] < data.seq_len:
        probs = F.softmax(model(x)[:, -1], dim=-1)
        x = torch.cat([x, torch.multinomial(probs, 1, generator=g)], dim=1)
    return data.decode(x)


def reference_job(args: argparse.Namespace, out: str) -> None:
    """Train and score the reference (in its own process); writes reference.json into `out`."""
    torch.set_num_threads(1)
    data = TextData(Path(out) / "train.txt", args.seq_len)
    val = TextData(Path(out) / "val.txt", args.seq_len, data.vocabulary)
    ref, steps = train_reference(data, args)
    record = {"steps": steps, "parameters": sum(p.numel() for p in ref.parameters()), "val_nats_per_char": round(reference_loss(ref, val.windows()), 4)}
    record["samples"] = reference_sample(ref, data, 3, args.seed)
    (Path(out) / "reference.json").write_text(json.dumps(record), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=20.0, help="wall-clock training minutes of each model")
    ap.add_argument("--seq-len", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--positions", default="rope", choices=("rope", "learned"), help="positions of both transformers")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="", help="folder for the run, splits and the JSON record (default: a temporary one)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out or tempfile.mkdtemp(prefix="text-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    text = TEXT.read_text(encoding="utf-8")
    cut = int(0.9 * len(text))
    (out / "train.txt").write_text(text[:cut], encoding="utf-8")
    (out / "val.txt").write_text(text[cut:], encoding="utf-8")
    record: dict = {
        "minutes": args.minutes,
        "seq_len": args.seq_len,
        "batch_size": args.batch_size,
        "width": args.width,
        "layers": args.layers,
        "heads": args.heads,
        "positions": args.positions,
        "threads": 1,
    }

    config = TrainConfig(
        data=str(out / "train.txt"), seq_len=args.seq_len, batch_size=args.batch_size, embed_dim=args.width, layers=args.layers, heads=args.heads, positions=args.positions,
        steps=1_000_000, max_minutes=args.minutes, budget_schedule=True, save_every=1_000_000, log_every=200, progress=False, seed=args.seed, out=str(out / "flow"),
    )  # fmt: skip
    args.lr = config.lr  # the reference at the flow's own learning rate (flowmatch's default for text)
    record.update(lr=config.lr, loss=config.discrete_loss)

    # The reference trains in a second process at the same time as the flow, one thread each, so
    # that both meet the same load of a shared machine for the same minutes.
    reference = mp.get_context("spawn").Process(target=reference_job, args=(args, str(out)))
    reference.start()
    result = train(config)
    run = load_run(out / "flow")
    start = time.perf_counter()
    bound = run_bound(run, str(out / "val.txt"), seed=args.seed)
    record["flow"] = {
        "steps": result.step,
        "parameters": sum(p.numel() for p in run.model.parameters()),
        "val_bound_nats_per_char": round(bound.nll, 4),
        "stderr": round(bound.stderr, 4),
        "bound_seconds": round(time.perf_counter() - start, 1),
    }
    print(json.dumps({"flow": record["flow"]}), flush=True)

    reference.join()
    record["reference"] = json.loads((out / "reference.json").read_text(encoding="utf-8"))
    ref_loss = record["reference"]["val_nats_per_char"]
    record["ratio"] = round(bound.nll / ref_loss, 3)
    print(json.dumps({"reference": {k: v for k, v in record["reference"].items() if k != "samples"}, "ratio": record["ratio"]}), flush=True)

    record["samples"] = {f"flow_{steps}_steps": run.data.decode(sample_tokens(run, 3, steps=steps, seed=args.seed).x) for steps in (16, 64, 256)}
    record["samples"]["reference"] = record["reference"].pop("samples")
    (out / "text_benchmark.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    print(json.dumps(record["samples"], indent=2))
    print(json.dumps({k: v for k, v in record.items() if k != "samples"}))
    assert math.isfinite(bound.nll) and math.isfinite(ref_loss)


if __name__ == "__main__":
    main()
