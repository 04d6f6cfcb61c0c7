"""The prefetching batch pipeline gives the same batches, and the same resumed runs, as a synchronous loop."""

from __future__ import annotations

import pytest
import torch

from flowmatch.couplings import Coupling
from flowmatch.runs import load_checkpoint, train
from flowmatch.training import TrainConfig, Trainer

# blocks of 64 (the whole batch) keep these tests fast; pools have tests of their own below
TINY = dict(hidden=16, depth=1, progress=False, lr_schedule="constant", batch_size=64, ot_block=64)


def _batches(tmp_path, coupling, prefetch, n=6):
    tr = Trainer(TrainConfig(data="moons", out=str(tmp_path), coupling=coupling, prefetch=prefetch, seed=3, **TINY))
    try:
        return [tr.pipeline.next() for _ in range(n)], tr.pipeline.generator_state()
    finally:
        tr.pipeline.close()


def test_prefetched_ot_batches_equal_synchronous(tmp_path):
    for coupling in ("ot", "independent", "sinkhorn"):
        sync, state_sync = _batches(tmp_path, coupling, 0)
        pre, state_pre = _batches(tmp_path, coupling, 3)
        for a, b in zip(sync, pre):
            assert torch.equal(a.x0, b.x0) and torch.equal(a.x1, b.x1) and torch.equal(a.t, b.t)
        assert torch.equal(state_sync, state_pre)  # the checkpointed state ignores batches in flight


def test_ot_batches_are_the_exact_ot_coupling(tmp_path):
    batches, _ = _batches(tmp_path, "ot", 2, n=2)
    for b in batches:  # re-coupling an OT batch must leave it as it is
        assert torch.equal(Coupling("ot").pair(b.x0, b.x1), torch.arange(len(b.x1)))


def test_prefetched_resume_is_bit_identical(tmp_path):
    full = tmp_path / "full"
    train(TrainConfig(data="moons", out=str(full), coupling="ot", steps=20, save_every=20, prefetch=2, **TINY))
    sync = tmp_path / "sync"
    train(TrainConfig(data="moons", out=str(sync), coupling="ot", steps=20, save_every=20, prefetch=0, **TINY))
    half = tmp_path / "half"
    train(TrainConfig(data="moons", out=str(half), coupling="ot", steps=8, save_every=8, prefetch=2, **TINY))
    train(TrainConfig(data="moons", out=str(half), coupling="ot", steps=20, save_every=20, prefetch=2, **TINY), resume=True)
    a, b, c = (load_checkpoint(d / "checkpoint.pt")["model"] for d in (full, sync, half))
    for k in a:
        assert torch.equal(a[k], b[k]) and torch.equal(a[k], c[k]), k


def test_pipeline_restores_the_interpreter_switch_interval(tmp_path):
    import sys

    before = sys.getswitchinterval()
    tr = Trainer(TrainConfig(data="moons", out=str(tmp_path), coupling="ot", prefetch=2, seed=3, **TINY))
    tr.pipeline.next()
    assert sys.getswitchinterval() <= 2e-4 + 1e-9  # short GIL hand-offs while OT solves are in flight
    tr.pipeline.close()
    assert sys.getswitchinterval() == before


def test_overlapping_pipelines_restore_the_switch_interval_once_all_close(tmp_path):
    import sys

    before = sys.getswitchinterval()
    a, b = (Trainer(TrainConfig(data="moons", out=str(tmp_path / n), coupling="ot", prefetch=1, **TINY)) for n in "ab")
    a.pipeline.next()
    b.pipeline.next()
    a.pipeline.close()  # b still has solves in flight: keep the short interval
    assert sys.getswitchinterval() <= 2e-4 + 1e-9
    b.pipeline.close()
    assert sys.getswitchinterval() == before


def _cost(x0, x1):
    return float((x0 - x1).pow(2).sum())


def test_an_ot_block_larger_than_the_batch_is_one_pool_served_as_batches(tmp_path):
    ot_permutation = Coupling("ot").pair  # exact OT of all the rows given

    tr = Trainer(TrainConfig(data="moons", out=str(tmp_path), coupling="ot", prefetch=0, seed=3, **{**TINY, "ot_block": 256}))
    assert tr.pool_batches == 4
    drawn = []
    pipeline_next = tr.pipeline.next
    tr.pipeline.next = lambda: drawn.append(pipeline_next()) or drawn[-1]
    served = []
    tr.forward = lambda x, t, **cond: served.append(x) or tr.model(x, t, **cond)
    for _ in range(8):
        tr.train_step()
    assert len(drawn) == 2 and all(len(p.x0) == 256 for p in drawn)  # one pool per 4 steps
    pool = drawn[0]
    # the pool's pairs are the exact OT plan of all its 256 rows, not of each batch of 64 ...
    assert _cost(pool.x0, pool.x1) == pytest.approx(_cost(pool.x0, pool.x1[ot_permutation(pool.x0, pool.x1)]), rel=1e-9)
    # ... which pairing each batch of 64 with 64 data points by itself would not reach
    x1 = pool.x1[torch.randperm(256, generator=torch.Generator().manual_seed(0))]
    per_batch = sum(_cost(pool.x0[i : i + 64], x1[i : i + 64][ot_permutation(pool.x0[i : i + 64], x1[i : i + 64])]) for i in range(0, 256, 64))
    assert _cost(pool.x0, pool.x1) < 0.9 * per_batch
    # ... and its rows are trained on in order, 64 per step: x_t = (1 - t) x0 + t x1
    first = (1 - pool.t[:64, None]) * pool.x0[:64] + pool.t[:64, None] * pool.x1[:64]
    assert torch.allclose(served[0], first, atol=1e-6) and len(served) == 8


def test_plain_ot_on_points_solves_pools_of_1024_rows_and_images_keep_blocks_of_64(tmp_path):
    ot_permutation = Coupling("ot").pair

    tr = Trainer(TrainConfig(data="moons", out=str(tmp_path), coupling="ot", prefetch=0, seed=3, hidden=16, depth=1, progress=False, batch_size=256))
    try:
        pool = tr.pipeline.next()
    finally:
        tr.pipeline.close()
    assert tr.pool_batches == 4 and len(pool.x0) == 1024  # C2OT's OT batch of 1,024 rows, as 4 batches of 256
    assert _cost(pool.x0, pool.x1) == pytest.approx(_cost(pool.x0, pool.x1[ot_permutation(pool.x0, pool.x1)]), rel=1e-9)
    assert TrainConfig(data="digits", coupling="ot").ot_block == 64  # the image preset's block: the whole batch of 64


def test_a_run_resumed_inside_a_pool_is_bit_identical(tmp_path):
    opts = dict(data="moons", coupling="ot", prefetch=2, **{**TINY, "ot_block": 256})
    train(TrainConfig(out=str(tmp_path / "full"), steps=10, save_every=10, **opts))
    train(TrainConfig(out=str(tmp_path / "half"), steps=6, save_every=6, **opts))  # stops 2 batches into the 2nd pool
    train(TrainConfig(out=str(tmp_path / "half"), steps=10, save_every=10, **opts), resume=True)
    a, b = (load_checkpoint(tmp_path / d / "checkpoint.pt")["model"] for d in ("full", "half"))
    assert all(torch.equal(a[k], b[k]) for k in a)
