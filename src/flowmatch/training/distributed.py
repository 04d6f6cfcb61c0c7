"""Several training processes with DistributedDataParallel, launched by torchrun.

    torchrun --nproc-per-node 2 -m flowmatch train --data moons --out runs/ddp

Design, chosen so that W processes train exactly what one process trains with the same
global batch: every rank draws the *same* global batch from the same seeded generator (so a
minibatch-OT coupling is computed on the global batch, as in one process), then keeps its
contiguous slice of batch_size / W rows. Each rank's loss is the mean over its slice and DDP
averages gradients over ranks, which is the mean over the global batch: the same gradient, the
same optimiser step, the same weights on every rank (up to float summation order). The price
is that every rank draws (and couples) the whole global batch; the model's forward and
backward, the expensive part for images, are split.

Only rank 0 writes (checkpoint, config.json, log.jsonl, progress bar); gloo is the backend on
CPU, NCCL on CUDA (one GPU per rank, cuda:LOCAL_RANK). Without torchrun's environment
(WORLD_SIZE unset or 1) everything here is a no-op and training runs as a single process.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Iterator, Mapping

import torch
from torch import Tensor, nn

from flowmatch.errors import FlowmatchError


@dataclass(frozen=True)
class DistContext:
    """rank, world_size and local_rank of this process; the defaults describe one process."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Whether this process writes files (rank 0)."""
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """cuda:LOCAL_RANK for CUDA runs with several processes, else the device unchanged."""
        if self.enabled and device.type == "cuda":
            torch.cuda.set_device(self.local_rank)
            return torch.device("cuda", self.local_rank)
        return device

    def check_batch(self, batch_size: int) -> None:
        if batch_size % self.world_size:
            raise FlowmatchError(f"batch-size {batch_size} must be divisible by the number of processes {self.world_size}")

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        """The module the loss calls: DDP around model with several processes, else model itself."""
        if not self.enabled:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [device.index] if device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def shard(self, x0: Tensor, x1: Tensor, t: Tensor, cond: Mapping[str, Tensor]) -> tuple[Tensor, Tensor, Tensor, dict[str, Tensor]]:
        """This rank's contiguous slice of a global batch (B rows -> B / world_size rows)."""
        if not self.enabled:
            return x0, x1, t, dict(cond)
        return self.rows(x0), self.rows(x1), self.rows(t), {k: self.rows(v) for k, v in cond.items()}

    def rows(self, x: Tensor | None) -> Tensor | None:
        """This rank's contiguous slice of one global-batch tensor (None stays None)."""
        if not self.enabled or x is None:
            return x
        n = x.shape[0] // self.world_size
        return x[self.rank * n : (self.rank + 1) * n]

    def average(self, value: Tensor) -> Tensor:
        """Mean of a tensor over ranks (the global-batch loss from per-rank slice means)."""
        if not self.enabled:
            return value
        import torch.distributed as dist

        out = value.detach().clone()
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out / self.world_size

    def any(self, flag: bool, device: torch.device) -> bool:
        """True on every rank if it is true on one (a wall-time limit must stop all ranks together)."""
        if not self.enabled:
            return flag
        import torch.distributed as dist

        t = torch.tensor([float(flag)], device=device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item() > 0)

    def barrier(self) -> None:
        if self.enabled:
            import torch.distributed as dist

            dist.barrier()


def context() -> DistContext:
    """The process group this process belongs to (one process if none is initialised)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return DistContext()
    return DistContext(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", dist.get_rank())))


def launched_world_size() -> int:
    """WORLD_SIZE as torchrun sets it (1 when not launched by torchrun)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        raise FlowmatchError(f"WORLD_SIZE must be an integer, got {os.environ['WORLD_SIZE']!r}") from None


def is_main_process() -> bool:
    """Rank 0, or a process not started by torchrun: the one that prints and writes."""
    return os.environ.get("RANK", "0") == "0"


@contextlib.contextmanager
def session(device: torch.device) -> Iterator[DistContext]:
    """Join torchrun's process group (gloo on CPU, NCCL on CUDA) for the duration of a run."""
    import torch.distributed as dist

    if launched_world_size() <= 1 or dist.is_initialized():
        yield context()
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if local_rank >= torch.cuda.device_count():  # one GPU per process: say so before NCCL hangs or fails
            raise FlowmatchError(f"process {local_rank} of this node has no GPU of its own ({torch.cuda.device_count()} found): start at most that many processes per node, or pass --device cpu")
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend=backend)
    try:
        yield context()
    finally:
        dist.destroy_process_group()


__all__ = ["DistContext", "context", "session", "is_main_process", "launched_world_size"]
