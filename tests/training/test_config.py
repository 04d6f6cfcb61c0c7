"""The precision option: fp32 and bf16 as asked, auto by what the device computes natively."""

import torch

from flowmatch import TrainConfig
from flowmatch.training.config import native_bf16, uses_bf16


def test_precision_auto_is_bf16_only_where_native():
    cpu = torch.device("cpu")
    assert not uses_bf16("fp32", cpu) and uses_bf16("bf16", cpu)
    assert uses_bf16("auto", cpu) == native_bf16(cpu)
    with open("/proc/cpuinfo") as fh:
        if " avx512_bf16" in fh.read():  # a CPU with native bf16 gets it
            assert native_bf16(cpu)
    assert TrainConfig(precision="auto").precision == "auto"


def test_time_sampling_auto_is_uniform_for_ot_flow_matching_only():
    from flowmatch.loss import resolve_time_sampling

    assert TrainConfig(coupling="ot").time_sampling == "auto"  # recorded as given, resolved where used
    assert resolve_time_sampling("auto", "ot", "fm") == "uniform"  # one Euler step needs t = 0 trained
    assert resolve_time_sampling("auto", "independent", "fm") == "logit-normal"
    assert resolve_time_sampling("auto", "ot", "meanflow") == "logit-normal"
    assert resolve_time_sampling("logit-normal", "ot", "fm") == "logit-normal"  # a choice is kept


def test_ot_runs_draw_uniform_times_by_default():
    from flowmatch.training import Trainer

    def times(**options):
        tr = Trainer(TrainConfig(data="moons", batch_size=4000, prefetch=0, progress=False, hidden=8, depth=1, **options))
        return tr.draw_batch().t

    # uniform times put 5% of the batch below t = 0.05, logit-normal ones 0.3%
    assert abs(float((times(coupling="ot") < 0.05).float().mean()) - 0.05) < 0.015
    assert float((times() < 0.05).float().mean()) < 0.01
