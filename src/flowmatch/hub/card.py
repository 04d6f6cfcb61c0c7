"""The model card (README.md of an export): what the model is, how it was trained, what was
measured, a sample picture, and the command that reproduces it. Hub-style front matter first."""

from __future__ import annotations

import dataclasses
import shlex
from typing import Any

from flowmatch import __version__
from flowmatch.data import TOY_SETS
from flowmatch.manifolds import CURVED_SETS
from flowmatch.options import describe
from flowmatch.recipes import RecipeConfig, image_stages, recipe_defaults
from flowmatch.runs import SamplerSettings
from flowmatch.training import TrainConfig

# Options that do not change what a run learns (where and how it runs, how often it reports).
NOT_RESULTS = ("out", "device", "progress", "prefetch", "save_every", "log_every", "sample_every", "logger")


def _flags(values: dict[str, Any], defaults: dict[str, Any], fields: list) -> list[str]:
    """The flags that set each field of `values` that differs from `defaults` (switches: --X or --no-X)."""
    out: list[str] = []
    for f in fields:
        name = f.name
        if name in NOT_RESULTS or name not in values or values[name] == defaults.get(name):
            continue
        flag = describe(f).get("flag") or "--" + name.replace("_", "-")
        value = values[name]
        if isinstance(value, bool):
            out.append(flag if value or describe(f).get("flag") else "--no-" + name.replace("_", "-"))
        elif value is not None:
            out += [flag, str(value)]
    return out


def train_command(config: TrainConfig, recipe: dict[str, Any] | None = None) -> str:
    """`flowmatch train ...` with the options that differ from what the command starts from on
    this data (and, for a recipe run, `--recipe few-step`, its defaults and its own flags)."""
    start = recipe_defaults(config.data) if recipe is not None else {}
    # the learning rate's default depends on the model, so the model is given to find it
    defaults = {**dataclasses.asdict(TrainConfig(data=config.data, **{**start, "model": config.model})), "model": TrainConfig(data=config.data, **start).model}
    args = ["flowmatch", "train", "--data", config.data, "--out", config.out]
    if recipe is not None:
        args += ["--recipe", "few-step"]
        rfields = [f for f in dataclasses.fields(RecipeConfig) if f.name not in ("base_steps", "base_coupling", "solver_steps", "distill_fraction")]
        args += _flags(dict(recipe), {**dataclasses.asdict(RecipeConfig()), **image_stages(config.data)}, rfields)
    args += _flags(dataclasses.asdict(config), defaults, [f for f in dataclasses.fields(TrainConfig) if f.name != "data"])
    return " ".join(shlex.quote(a) for a in args)


def _table(rows: list[tuple[str, str]]) -> str:
    return "| | |\n|---|---|\n" + "".join(f"| {k} | {v} |\n" for k, v in rows)


def model_card(
    meta: dict[str, Any], *, name: str, ref: str, n_params: int, sampler: SamplerSettings, figures: Any, command: str, picture: str | None, notes: str = "", stages: list | None = None
) -> str:
    """Markdown text of the model card; `sampler` is the recommendation `flowmatch sample` applies.

    Long because it is the card's template: its sections in the order a reader meets them."""
    t = meta["training"]
    data, shape, k = meta["data"], tuple(meta["data_shape"]), meta["num_classes"]
    solver, steps = sampler.method, sampler.steps
    images = len(shape) == 3
    vocab = meta.get("vocab_size", 0)
    text = meta.get("vocabulary") is not None
    tags = ["flowmatch", "flow-matching", "generative-model", str(data)] + (["class-conditional"] if k else [])
    front = "---\nlibrary_name: flowmatch\nlicense: mit\ntags:\n" + "".join(f"- {tg}\n" for tg in tags) + "---\n\n"
    what = (
        f"a class-conditional flow-matching model of {data} images {shape} ({k} classes)"
        if images and k
        else (f"a flow-matching model of {data} images {shape}" if images else f"a flow-matching model of the {data} distribution in {shape[0]} dimensions")
    )
    if vocab:
        what = f"a discrete flow over sequences of {shape[0]} tokens ({vocab} in the vocabulary) of {data}" + (f", class-conditional ({k} classes)" if k else "")
    desc = meta.get("description") or ""
    opts = ", ".join(f"{a}={b}" for a, b in meta["model_options"].items())
    path_opts = ", ".join(f"{a}={b}" for a, b in meta["path_options"].items() if b is not None)
    src = f"N(0, {meta.get('source_scale', 1.0):g}^2 I)" if meta["source"] == "gaussian" else meta["source"]
    if vocab:
        src, path_row = f"{t.get('discrete_source')} tokens", f"mixture path, kappa `{t.get('kappa')}`" + (f" (n = {t.get('kappa_power')})" if t.get("kappa") == "polynomial" else "")
    lines = [front, f"# {name}\n\n", f"{desc}\n\n" if desc else "", f"This is {what}, trained and exported with flowmatch {__version__}. "]
    if vocab:
        lines.append("It predicts the posterior p(x1 | x_t) of each token (t = 0 the source, t = 1 the data); sampling simulates the Markov chain whose jump rates follow from it")
    else:
        lines.append("It is a velocity field v(x, t) (t = 0 the source, t = 1 the data); sampling solves dx/dt = v(x, t) from a source draw at t = 0 to t = 1")
    lines.append(f" (here {solver}, {steps} step{'s' if steps != 1 else ''}).\n\n")
    if picture:
        lines.append(f"![samples]({picture})\n\n")
    use_cls = " --class 3" if images and k else ""
    out_file = "samples.txt" if text else "samples.png"
    lines.append("## Use\n\n```bash\n")
    lines.append(f"flowmatch sample {ref} --steps {steps}{use_cls} --out {out_file}\n")
    if text:
        lines.append(f"flowmatch likelihood {ref} --data FILE.txt   # the bound: nll (nats per character) and bpc\n")
    elif not images and not vocab:
        # data from a file are not in the export: the reader names their own copy
        quoted = shlex.quote(str(data))
        own = "" if data in TOY_SETS or data in CURVED_SETS else f" --ref {quoted}"
        curved = t.get("manifold", "euclidean") != "euclidean"
        lines.append(f"flowmatch eval {ref}{own} --solver {solver} --steps {steps} --n 2000" + ("\n" if curved else " --metrics w2\n"))
        if curved:
            lines.append(f"flowmatch likelihood {ref} --data {quoted}   # nats per point, w.r.t. the area of the sphere\n")
    lines.append("```\n\n```python\n" + ("import torch\n\n" if images and k else "") + "import flowmatch\n\n")
    lines.append(f'model = flowmatch.from_pretrained("{ref}")\n')
    if images and k:
        lines.append(f"x = model.sample(16, steps={steps}, y=torch.full((16,), 3))  # (16, {', '.join(map(str, shape))}) in [-1, 1]\n")
    else:
        lines.append(f"x = model.sample(1000, steps={steps})  # (1000, {', '.join(map(str, shape))})\n")
    lines.append("```\n\n`model` is a `flowmatch.Run`: `flowmatch.sample_run`, `flowmatch.evaluation.evaluate_run` and `flowmatch.runs.run_log_likelihood` take it.\n\n")
    lines.append("## Model\n\n")
    rows = [
        ("data", f"`{data}`, samples of shape {shape}" + (f", {k} classes (null class {k} for classifier-free guidance)" if k else "")),
        ("network", f"`{meta['model']}` ({opts}); {n_params:,} parameters"),
        ("path", path_row if vocab else f"`{meta['path']}`" + (f" ({path_opts})" if path_opts else "")),
        ("source", src),
        ("sampler", f"`{solver}`, {steps} step{'s' if steps != 1 else ''} recommended"),
        ("weights", f"{'EMA (decay ' + str(t.get('ema_decay')) + ')' if meta['weights'] == 'ema' else 'the trained weights'} at step {meta['step']:,}, float32, `model.safetensors`"),
    ]
    lines.append(_table(rows) + "\n")
    lines.append("## Training\n\n" + ("Options of the last stage (the stages are listed below):\n\n" if stages else ""))
    trows = [(key, f"`{t[key]}`") for key in ("steps", "batch_size", "lr", "coupling", "ot_block", "time_sampling", "distill_fraction", "ema_decay", "seed") if key in t]
    lines.append(_table(trows) + "\n")
    if stages:
        lines.append("Stages (the few-step recipe: an OT-coupled base, then one-step distillation on its ODE couplings):\n\n| stage | steps | seconds |\n|---|---|---|\n")
        lines += [f"| {s.get('stage')} | {s.get('step', '')} | {s.get('seconds', '')} |\n" for s in stages]
        lines.append("\n")
    lines.append("## Measured\n\n")
    if figures is not None:
        lines.append(
            f"Exact W2 (POT) between {figures.n:,} samples and {figures.n:,} fresh points of `{data}`, median over {figures.draws} pairs of a fresh sample set "
            f"(seeds 0 to {figures.draws - 1}) and a fresh reference draw; the noise floor is the median W2 between two fresh draws of the data ({figures.draws} pairs), "
            "what a perfect sampler scores.\n\n"
        )
        lines.append("| solver | steps | NFE | W2 | W2 / floor |\n|---|---|---|---|---|\n")
        lines += [f"| {r['solver']} | {r['steps']} | {r['nfe']} | {r['w2']:.4f} | {r['ratio']:.2f} |\n" for r in figures.rows]
        lines.append(f"| noise floor | | | {figures.floor:.4f} | 1.00 |\n\n")
    else:
        lines.append("No figures were measured at export" + (" (image models: see the notes below, if any)" if images else "") + ".\n\n")
    if notes:
        lines.append("## Notes\n\n" + notes.strip() + "\n\n")
    lines.append("## Reproduce\n\n```bash\n" + command.strip() + "\n```\n\n")
    lines.append(
        "## Files\n\n`model.safetensors` (weights), `config.json` (data shape, classes, network and its options, path, source, sampler, and the full training config), "
        "`README.md` (this card), `samples.png`"
        + (", `source.safetensors` (the source: its points, or the fitted mixture's parameters)" if meta["source"] != "gaussian" and meta["source"] not in TOY_SETS else "")
        + ". No file here is a pickle; loading runs no code.\n"
    )
    return "".join(lines)


__all__ = ["model_card", "train_command"]
