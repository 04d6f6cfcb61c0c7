"""`export_run`: a run directory to a Hub-style folder (see flowmatch.hub.files for its files).

The folder is built beside --out under a temporary name and renamed into place at the end, so
a failure leaves nothing half-written; an --out that exists and is not empty is refused before
anything is read or written (no command replaces what it did not create).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import torch

from flowmatch.errors import FlowmatchError
from flowmatch.evaluation import can_measure_w2, w2_figures
from flowmatch.fileio import atomic_write_text
from flowmatch.hub.card import model_card, train_command
from flowmatch.hub.files import CARD_FILE, PICTURE, check_new_folder, new_folder, write_export_files
from flowmatch.hub.load import from_run_dir
from flowmatch.options import build
from flowmatch.runs import CHECKPOINT, SamplerSettings, load_checkpoint, load_config, recommended_sampler, sample_run, sample_tokens, save_image_grid
from flowmatch.runs.run import checkpoint_file
from flowmatch.training import TrainConfig

WEIGHTS = ("ema", "model")


def _recipe_record(run_dir: Path) -> tuple[dict | None, list | None, TrainConfig | None]:
    """(recipe options, stages, the recipe's own training config) of a few-step recipe run."""
    f = run_dir / "recipe.json"
    if not f.is_file():
        return None, None, None
    try:
        rec = json.loads(f.read_text())
    except ValueError:
        return None, None, None
    config = None
    if isinstance(rec.get("config"), dict):
        try:
            config = build(TrainConfig, rec["config"])
        except FlowmatchError:
            config = None
    return rec.get("recipe"), rec.get("stages"), config


def export_run(
    run_dir: str | Path,
    out: str | Path,
    *,
    weights: str = "ema",
    steps: int | None = None,
    eval_steps: Sequence[int] = (1, 2, 8),
    n_eval: int = 2000,
    eval_draws: int = 5,
    measure: bool = True,
    name: str | None = None,
    description: str = "",
    command: str | None = None,
    notes: str = "",
    guidance: float = 1.0,
    device: str = "auto",
    seed: int = 0,
    checkpoint: str = "last",
) -> dict[str, Any]:
    """Export a run directory's model (EMA weights unless weights='model'; its last checkpoint, or
    with checkpoint='best' its best by validation) to the new folder `out` with its card; returns a
    summary (files, figures). See flowmatch.hub.files for the layout."""
    run_dir, out = Path(run_dir), Path(out)
    if weights not in WEIGHTS:
        raise FlowmatchError(f"unknown weights {weights!r}; choose one of {', '.join(WEIGHTS)}")
    check_new_folder(out)
    if not (run_dir / CHECKPOINT).is_file():
        raise FlowmatchError(f"{run_dir} holds no run to export (no {CHECKPOINT}; 'flowmatch export' takes a directory written by 'flowmatch train')")
    state = load_checkpoint(checkpoint_file(run_dir, checkpoint))
    load_config(run_dir / "config.json")  # a one-line error for a missing or corrupt config, before anything else
    used = "ema" if weights == "ema" and state.get("ema") is not None else "model"
    del state
    run = from_run_dir(run_dir, device=device, use_ema=used == "ema", checkpoint=checkpoint)
    config = run.config
    sampler = recommended_sampler(config, steps=steps)  # what `flowmatch sample` draws this run with
    recipe, stages, recipe_config = _recipe_record(run_dir)
    name = name or out.name
    ref = name if name.startswith(("pretrained:", "hf:")) else str(out)
    figures = w2_figures(run, eval_steps, n=n_eval, draws=eval_draws, seed=seed) if measure and can_measure_w2(run) else None
    if command is None:
        base = recipe_config if recipe is not None and recipe_config is not None else config
        command = train_command(base.replace(out=str(run_dir)), recipe) + "\n" + f"flowmatch export {run_dir} --out {out}"
    extra = {"name": name, "description": description, "recommended": {"solver": sampler.method, "steps": sampler.steps}}
    if figures is not None:
        extra["figures"] = {"metric": "w2", "n": figures.n, "draws": figures.draws, "noise_floor": figures.floor, "rows": figures.rows}
    with new_folder(out) as tmp:
        meta = write_export_files(run, tmp, used, extra)
        picture = _picture(run, tmp / PICTURE, sampler, guidance, seed)
        n_params = sum(p.numel() for p in run.model.parameters())
        card = model_card(meta, name=name, ref=ref, n_params=n_params, sampler=sampler, figures=figures, command=command, picture=picture, notes=notes, stages=stages)
        atomic_write_text(tmp / CARD_FILE, card)
        files = sorted(p.name for p in tmp.iterdir())
    summary: dict[str, Any] = {"out": str(out), "files": files, "weights": used, "step": run.step, "parameters": n_params}
    if figures is not None:
        summary.update({"w2": figures.rows, "noise_floor": figures.floor})
    return summary


def _picture(run, path: Path, sampler: SamplerSettings, guidance: float, seed: int) -> str:
    images = len(run.data.shape) == 3
    kw = {"method": sampler.method, "steps": sampler.steps, "seed": seed}
    if run.discrete:  # text samples, or the 2D set's histogram beside its exact law
        from flowmatch.viz import plot_text_samples, plot_token_histogram

        text = getattr(run.data, "vocabulary", None) is not None
        res = sample_tokens(run, 6 if text else 2000, **kw)
        if text:
            plot_text_samples(run.data.decode(res.x.cpu()), path, title=f"{run.config.data}: {res.nfe} steps")
        else:
            plot_token_histogram(res.x.cpu(), path, vocab_size=run.path.vocab_size, truth=getattr(run.data, "probabilities", lambda: None)(), title=f"NFE {res.nfe}")
        return path.name
    if images:
        k = run.data.num_classes
        if k:
            per = 8  # one row of 8 per class (the first 10 classes)
            y = torch.arange(min(k, 10)).repeat_interleave(per)
            x = sample_run(run, len(y), y=y, guidance=guidance, **kw).x
            save_image_grid(x, path, ncol=per)
        else:
            x = sample_run(run, 64, **kw).x
            save_image_grid(x, path, ncol=8)
    elif run.config.manifold != "euclidean":
        from flowmatch.viz import plot_manifold_points

        res = sample_run(run, 2000, **kw)
        plot_manifold_points(res.x, run.config.manifold, path, title=f"{run.config.data}: {res.method}, NFE {res.nfe}")
    else:
        from flowmatch.viz import plot_points  # matplotlib: loaded only where a picture is drawn

        res = sample_run(run, 2000, **kw)
        plot_points(res.x, path, title=f"{run.config.data}: {res.method}, NFE {res.nfe}")
    return path.name


__all__ = ["WEIGHTS", "export_run"]
