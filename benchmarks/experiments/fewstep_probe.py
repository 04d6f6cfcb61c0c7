"""One training configuration on one peers task, evaluated like benchmarks/peers.py (seed 0).

    python benchmarks/fewstep_probe.py base moons '{"coupling": "ot", "ot_block": 64, "steps": 5000}'
    python benchmarks/fewstep_probe.py recipe moons '{"reflow_rounds": 0}' '{"lr": 0.003}'

`base TASK CONFIG`: plain CFM with TrainConfig fields from the JSON object (EMA model evaluated).
`recipe TASK RECIPE [CONFIG]`: the few-step recipe with RecipeConfig fields from RECIPE and the
base's TrainConfig fields from CONFIG. Prints one JSON line: W2 at Euler NFE 1/2/4/8 and dopri5
(median over 3 fresh reference draws of 2,000 points), and the training seconds.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "src")]

import peers  # noqa: E402
from flowmatch import TrainConfig, fit, load_run  # noqa: E402
from flowmatch.recipes import RecipeConfig, few_step_recipe, recipe_defaults  # noqa: E402


def main(argv: list[str]) -> int:
    mode, task, first = argv[0], argv[1], json.loads(argv[2])
    torch.set_num_threads(1)
    src, dst = peers.TASKS[task]
    out = tempfile.mkdtemp() + "/run"
    start = time.perf_counter()
    if mode == "base":
        cfg = TrainConfig(data=dst, source=src, out=out, seed=0, progress=False, **first)
        model, extra = fit(cfg, callbacks=[]).model.eval().requires_grad_(False), {}
    else:
        recipe = RecipeConfig(**first)
        train_kw = json.loads(argv[3]) if len(argv) > 3 else {}
        cfg = TrainConfig(data=dst, source=src, out=out, seed=0, progress=False, **{**recipe_defaults(dst), "steps": recipe.base_steps, **train_kw})
        summary = few_step_recipe(cfg, recipe)
        model = load_run(out, device="cpu").model
        extra = {**train_kw, "stages": [(s["stage"], s.get("seconds")) for s in summary["stages"]]}
    seconds = time.perf_counter() - start
    w2 = peers.evaluate(model, task, 0, 3)
    print(json.dumps({"task": task, **first, **extra, "s": round(seconds, 1), **{k: round(v, 4) for k, v in w2.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
