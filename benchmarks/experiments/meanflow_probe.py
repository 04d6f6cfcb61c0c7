"""MeanFlow probe on 2D data: one fit() with the MeanFlow objective, then W2 at 1, 2, 4 MeanFlow steps and
16 midpoint steps of the same model (its instantaneous velocity) against 2,000 fresh points.

    OMP_NUM_THREADS=1 python benchmarks/experiments/meanflow_probe.py TIME_SCALE WEIGHT_POWER FRACTION STEPS [DATA [COUPLING]]

TIME_SCALE overrides flowmatch.models.embeddings.MEAN_FLOW_TIME_SCALE (the probe behind its value).
"""

import sys

import torch

torch.set_num_threads(1)
import flowmatch.models.embeddings as E
from flowmatch import TrainConfig, fit
from flowmatch.data import load_data
from flowmatch.metrics import wasserstein2
from flowmatch.solvers import solve

scale, power, frac, steps = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
E.MEAN_FLOW_TIME_SCALE = scale
data = sys.argv[5] if len(sys.argv) > 5 else "moons"
cfg = TrainConfig(
    data=data, out="/tmp/unused", objective="meanflow", mean_flow_weight_power=power, mean_flow_fraction=frac, steps=steps, progress=False, **({"coupling": sys.argv[6]} if len(sys.argv) > 6 else {})
)
res = fit(cfg, callbacks=[])
m = res.model.eval()
g = torch.Generator().manual_seed(1)
ref = load_data(data).sample(2000, g).x
x0 = torch.randn(2000, 2, generator=g)
out = {}
with torch.no_grad():
    for k in (1, 2, 4):
        out[f"mf{k}"] = round(wasserstein2(solve(m, x0, method="meanflow", steps=k).x, ref), 3)
    out["mid16"] = round(wasserstein2(solve(m, x0, method="midpoint", steps=16).x, ref), 3)
print(sys.argv[1:], out, round(res.seconds, 1), "loss", round(res.loss, 3), flush=True)
