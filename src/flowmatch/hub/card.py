"""The model card (README.md of an export): what the model is, how it was trained, what was
measured, a sample picture, and the command that reproduces it. Hub-style front matter first."""

from __future__ import annotations

import dataclasses
import shlex
from typing import Any

from flowmatch import __version__
from flowmatch.options import describe
from flowmatch.training import TrainConfig

# Options that do not change what a run learns (where and how it runs, how often it reports).
NOT_RESULTS = ("out", "device", "progress", "prefetch", "save_every", "log_every", "sample_every", "logger")


def _flags(values: dict[str, Any], defaults: dict[str, Any], fields: list, preset: dict[str, Any] | None = None) -> list[str]:
    out: list[str] = []
    for f in fields:
        name = f.name
        if name in NOT_RESULTS or name not in values:
            continue
        if values[name] is False and (preset or {}).get(name) is True and not describe(f).get("flag"):
            out.append("--no-" + name.replace("_", "-"))  # a switch the command's preset turns on, turned off
            continue
        if values[name] == defaults.get(name):
            continue
        meta = describe(f)
        flag = meta.get("flag") or "--" + name.replace("_", "-")
        value = values[name]
        if isinstance(value, bool):
            out.append(flag)  # a switch: given only when it differs from its default
        elif value is not None:
            out += [flag, str(value)]
    return out


def train_command(config: TrainConfig, recipe: dict[str, Any] | None = None) -> str:
    """`flowmatch train ...` with the options that differ from their defaults (a recipe run:
    `--recipe few-step` and its own flags, from the recipe's record)."""
    fields = dataclasses.fields(TrainConfig)
    values = dataclasses.asdict(config)
    # the defaults a command with this --data and --model starts from (the learning rate's depends on the model)
    defaults = {**dataclasses.asdict(TrainConfig(data=config.data, model=config.model)), "model": TrainConfig.model}
    args = ["flowmatch", "train", "--data", config.data, "--out", config.out]
    if recipe is not None:
        from flowmatch.recipes import RECIPE_LR, RecipeConfig

        defaults = {**defaults, "steps": RecipeConfig.base_steps, "lr": RECIPE_LR}
        args += ["--recipe", "few-step"]
        rfields = [f for f in dataclasses.fields(RecipeConfig) if f.name not in ("base_steps", "base_coupling", "solver_steps", "distill_fraction")]
        rvalues = {k: v for k, v in recipe.items()}
        args += _flags(rvalues, dataclasses.asdict(RecipeConfig()), rfields)
    from flowmatch.data import is_image_spec
    from flowmatch.recipes.presets import load_preset

    # what `flowmatch train` starts from on image data (the switches it turns on must be turned off)
    preset = {**load_preset("images"), **(load_preset("images-few-step") if recipe is not None else {})} if is_image_spec(config.data) else {}
    args += _flags(values, defaults, [f for f in fields if f.name not in ("data",)], preset)
    return " ".join(shlex.quote(a) for a in args)


def _table(rows: list[tuple[str, str]]) -> str:
    return "| | |\n|---|---|\n" + "".join(f"| {k} | {v} |\n" for k, v in rows)


def model_card(meta: dict[str, Any], *, name: str, ref: str, n_params: int, steps: int, figures: Any, command: str, picture: str | None, notes: str = "", stages: list | None = None) -> str:
    """Markdown text of the model card."""
    t = meta["training"]
    data, shape, k = meta["data"], tuple(meta["data_shape"]), meta["num_classes"]
    solver = meta.get("recommended", {}).get("solver", meta["sampler"])
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
    src = f"N(0, {meta['source_scale']:g}^2 I)" if meta["source"] == "gaussian" else meta["source"]
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
        lines.append(f"flowmatch eval {ref} --solver {solver} --steps {steps} --n 2000 --metrics w2\n")
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
        "`README.md` (this card), `samples.png`. No file here is a pickle; loading runs no code.\n"
    )
    return "".join(lines)


__all__ = ["model_card", "train_command"]
