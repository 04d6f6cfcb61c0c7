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
    assert TrainConfig(coupling="ot").time_sampling == "uniform"  # one Euler step needs t = 0 trained
    assert TrainConfig().time_sampling == "logit-normal"
    assert TrainConfig(coupling="ot", objective="meanflow").time_sampling == "logit-normal"
    assert TrainConfig(coupling="ot", time_sampling="logit-normal").time_sampling == "logit-normal"  # a choice is kept
