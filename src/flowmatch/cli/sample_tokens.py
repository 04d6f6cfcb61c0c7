"""`flowmatch sample` for a discrete run: token sequences written as text, tokens or a 2D histogram."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def sample_tokens_command(run, args: argparse.Namespace) -> int:
    """Draw --n sequences from a discrete run and write --out (.txt text, .npy tokens, .png for the 2D set); print the record."""
    # long: every flag of a discrete run is checked here, before anything is sampled or written
    import numpy as np

    from flowmatch.errors import FlowmatchError
    from flowmatch.fileio import atomic_write, atomic_write_text
    from flowmatch.runs import class_labels, recommended_sampler, sample_tokens

    out = Path(args.out)
    continuous = [
        flag
        for flag, used in (
            ("--condition", args.condition),
            ("--sde", args.sde),
            ("--density-guidance", args.density_guidance),
            ("--guidance-interval", args.guidance_interval),
            ("--guidance-rescale", args.guidance_rescale is not None),
        )
        if used
    ]
    if continuous:
        raise FlowmatchError(f"{continuous[0]} applies to flows on continuous data, not to this discrete run")
    if not run.data.num_classes and (args.class_ is not None or args.guidance != 1.0):
        raise FlowmatchError("--class and --guidance apply to class-conditional runs (trained on labelled data)")
    text = getattr(run.data, "vocabulary", None) is not None
    if out.suffix == ".txt" and not text:
        raise FlowmatchError("--out FILE.txt writes text runs' samples; save these tokens as .npy (or .png for the 2D set)")
    if out.suffix == ".png" and tuple(run.data.shape) != (2,):
        raise FlowmatchError("--out FILE.png draws the 2D discrete set; save these samples as .txt (text) or .npy")
    n = args.n or (8 if text else 2000)
    labels = class_labels(args.class_, n, run.data.num_classes)
    n = len(labels) if labels is not None else n
    chosen = recommended_sampler(run.config, card=run.recommended, method=args.solver, steps=args.steps)
    steps, method = chosen.steps, chosen.method
    start = time.perf_counter()
    res = sample_tokens(
        run,
        n,
        steps=steps,
        method=method,
        seed=args.seed,
        y=labels,
        guidance=args.guidance,
        guidance_space=args.guidance_space,
        temperature=args.temperature,
        corrector=args.corrector,
        trajectory=bool(args.trajectory),
    )
    seconds = time.perf_counter() - start
    out.parent.mkdir(parents=True, exist_ok=True)
    x = res.x.cpu()
    if out.suffix == ".txt":
        atomic_write_text(out, "".join(f"--- sample {i}\n{s}\n" for i, s in enumerate(run.data.decode(x))))
    elif out.suffix == ".npy":
        atomic_write(out, lambda fh: np.save(fh, x.numpy()))
    else:
        from flowmatch.viz import plot_token_histogram

        plot_token_histogram(x, out, vocab_size=run.path.vocab_size, truth=getattr(run.data, "probabilities", lambda: None)(), title=f"{method}, NFE {res.nfe}")
    if args.trajectory:
        from flowmatch.viz import plot_token_path

        if tuple(run.data.shape) != (2,):
            raise FlowmatchError("--trajectory draws the 2D discrete set over time")
        plot_token_path(res.trajectory.cpu(), res.times, args.trajectory, vocab_size=run.path.vocab_size, mask_token=run.path.mask_token)
    record = {"out": str(out), "n": n, "solver": method, "steps": steps, "nfe": res.nfe, "seconds": round(seconds, 3)}
    if run.data.num_classes:
        record.update({"class": args.class_, "guidance": args.guidance, "guidance_space": args.guidance_space})
    if args.temperature != 1.0:
        record["temperature"] = args.temperature
    if args.corrector:
        record["corrector"] = args.corrector
    print(json.dumps(record))
    return 0
