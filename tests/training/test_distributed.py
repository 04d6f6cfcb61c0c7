"""Two processes with DDP (gloo on CPU) train what one process trains with the same global batch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from flowmatch.errors import FlowmatchError
from flowmatch.runs import load_run, train
from flowmatch.training import TrainConfig
from flowmatch.training.distributed import DistContext
from helpers import subprocess_env

# Minibatch OT: the coupling must be computed on the global batch for the runs to agree.
# gloo on the CPU, also where a GPU is present.
OPTIONS = {"data": "moons", "coupling": "ot", "hidden": 32, "depth": 2, "batch_size": 64, "lr_schedule": "constant", "log_every": 1, "save_every": 100, "ema_decay": 0.9, "device": "cpu"}


def torchrun(out: Path, steps: int, *extra: str) -> subprocess.CompletedProcess:
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in OPTIONS.items()]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "flowmatch", "train", *flags, f"--out={out}", f"--steps={steps}", "--no-progress", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env(), timeout=300)


def weights(run_dir: Path) -> dict[str, dict[str, torch.Tensor]]:
    state = torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=True)
    return {"model": state["model"], "ema": state["ema"], "step": state["step"]}


def assert_same_training(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert wa["step"] == wb["step"]
    for part in ("model", "ema"):
        assert wa[part].keys() == wb[part].keys()  # no DDP 'module.' prefix in checkpoints
        for k in wa[part]:
            torch.testing.assert_close(wa[part][k], wb[part][k], rtol=0, atol=1e-5, msg=f"{part}.{k}")
    la = [json.loads(x) for x in (a / "log.jsonl").read_text().splitlines()]
    lb = [json.loads(x) for x in (b / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in la] == [r["step"] for r in lb]  # rank 0 alone logs: no duplicated lines
    for ra, rb in zip(la, lb):
        assert ra["loss"] == pytest.approx(rb["loss"], rel=1e-5)


def test_two_processes_equal_one_process(tmp_path):
    ddp = tmp_path / "ddp"
    proc = torchrun(ddp, 4)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    assert len(lines) == 1 and lines[0]["step"] == 4  # only rank 0 reports

    single = tmp_path / "single"
    train(TrainConfig(**OPTIONS, out=str(single), steps=4, progress=False))
    assert_same_training(ddp, single)
    assert load_run(ddp, device="cpu").step == 4  # a DDP run loads like any other


def test_shards_partition_the_global_batch():
    g = torch.Generator().manual_seed(0)
    x0, x1, t, y = torch.randn(8, 2, generator=g), torch.randn(8, 2, generator=g), torch.rand(8, generator=g), torch.arange(8)
    parts = [DistContext(rank=r, world_size=4).shard(x0, x1, t, {"y": y}) for r in range(4)]
    torch.testing.assert_close(torch.cat([p[0] for p in parts]), x0)
    torch.testing.assert_close(torch.cat([p[1] for p in parts]), x1)
    torch.testing.assert_close(torch.cat([p[2] for p in parts]), t)
    torch.testing.assert_close(torch.cat([p[3]["y"] for p in parts]), y)
    one = DistContext().shard(x0, x1, t, {"y": y})
    assert one[0] is x0 and one[1] is x1 and one[2] is t  # one process: untouched


def test_batch_must_split_evenly_over_processes():
    DistContext(world_size=2).check_batch(64)
    with pytest.raises(FlowmatchError, match="batch-size 63 must be divisible by the number of processes 2"):
        DistContext(world_size=2).check_batch(63)
