"""Bad input, generated: every case ends with exit 2, one `error:` line, no traceback, and every run
directory byte for byte as it was.

The cases come from three sources: each training option's declared type, choices and range (a
value of the wrong type, NaN, infinities, one step outside the range, a choice that does not
exist), the other commands' flags, and hand-made files (corrupt, booby-trapped, of the wrong
shape). The runs they are aimed at are trained once per module.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import sys
import warnings

import numpy as np
import pytest
import torch

from flowmatch.options import describe, field_type
from flowmatch.training import TrainConfig
from helpers import cli

TINY = ["--steps", "6", "--batch-size", "16", "--hidden", "8", "--depth", "1", "--save-every", "3", "--no-progress"]


class Payload:
    """Unpickling this calls os.system: a file that executes code when loaded unsafely."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _print_warning(message, category, filename, lineno, file=None, line=None):
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def snapshot(root) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Two trained runs (2D, and a two-sided one), damaged copies, and bad data files."""
    root = tmp_path_factory.mktemp("fuzz")
    runs = root / "runs"
    cli("train", "--data", "moons", "--out", runs / "moons", *TINY, check=True)
    cli("train", "--data", "moons", "--source", "8gaussians", "--out", runs / "twosided", *TINY, check=True)
    good = runs / "moons"
    for name, change in {
        "garbage-ckpt": lambda d: (d / "checkpoint.pt").write_bytes(b"not a checkpoint"),
        "trapped-ckpt": lambda d: torch.save({"model": Payload(root / "pwned"), "step": 1}, d / "checkpoint.pt"),
        "trapped-pickle": lambda d: (d / "checkpoint.pt").write_bytes(pickle.dumps({"model": Payload(root / "pwned")})),
        "step-text-ckpt": lambda d: torch.save({**torch.load(good / "checkpoint.pt", weights_only=True), "step": "x"}, d / "checkpoint.pt"),
        "garbage-config": lambda d: (d / "config.json").write_text("{not json"),
        "list-config": lambda d: (d / "config.json").write_text("[1, 2]"),
        "typed-config": lambda d: (d / "config.json").write_text(json.dumps({**json.loads((good / "config.json").read_text()), "steps": "many"})),
        "unknown-config": lambda d: (d / "config.json").write_text(json.dumps({**json.loads((good / "config.json").read_text()), "colour": "red"})),
        "no-ckpt": lambda d: (d / "checkpoint.pt").unlink(),
        "no-config": lambda d: (d / "config.json").unlink(),
    }.items():
        d = runs / name
        d.mkdir()
        for f in good.iterdir():
            (d / f.name).write_bytes(f.read_bytes())
        change(d)
    files = root / "files"
    files.mkdir()
    np.save(files / "nan.npy", np.array([[0.0, np.nan], [1.0, 2.0]]))
    np.save(files / "flat.npy", np.zeros(10))
    np.save(files / "empty.npy", np.zeros((0, 2)))
    np.save(files / "three.npy", np.zeros((50, 3), dtype=np.float32))
    np.save(files / "one.npy", np.zeros((1, 2), dtype=np.float32))
    np.save(files / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savez(files / "two.npz", a=np.zeros((5, 2)), b=np.ones((5, 2)))
    np.savez(files / "none.npz")
    (files / "text.csv").write_text("1,2\nhello,world\n")
    (files / "blank.csv").write_text("")
    (files / "ragged.csv").write_text("1,2\n3\n")
    (files / "data.txt").write_text("1,2\n")
    (files / "bad.toml").write_text("steps = [\n")
    (files / "list.yaml").write_text("- 1\n- 2\n")
    (files / "cfg.ini").write_text("[x]\n")
    (files / "a_file").write_text("I am a file, not a directory\n")
    (files / "clf.pt").write_bytes(b"not a classifier")
    torch.save({"config": Payload(root / "pwned"), "state": {}}, files / "trapped-clf.pt")
    for key, value in [("steps", 1.5), ("steps", True), ("steps", "many"), ("lr", "fast"), ("colour", "red"), ("data", 3), ("progress", "yes"), ("ema_decay", 1.5)]:
        (files / f"{key}-{type(value).__name__}.toml").write_text(f"{key} = {json.dumps(value)}\n")
    return root


def train_option_cases() -> list[list[str]]:
    """For every training option: values of the wrong type, NaN, infinities, outside its range or choices."""
    cases = []
    for f in dataclasses.fields(TrainConfig):
        meta = describe(f)
        base, _ = field_type(TrainConfig, f.name)
        flag = "--" + f.name.replace("_", "-")
        if base is bool:
            cases.append([flag + "=yes"])  # a switch takes no value
            continue
        bad: list[str] = []
        if base in (int, float):
            bad += ["abc", "nan", "inf", "-inf", ""]
            if base is int:
                bad += ["1.5", "1e3", str(2**70)]
            if meta["min"] is not None:
                bad.append(str(meta["min"] - 1) if not meta["min_open"] else str(meta["min"]))
            if meta["max"] is not None:
                bad.append(str(meta["max"] + (0 if meta["max_open"] else 1)))
        elif meta["choices"]:
            bad.append("bogus")
        cases += [[flag, value] for value in bad]
    return cases


def command_cases(w) -> list[list[str]]:
    runs, files = w / "runs", w / "files"
    moons, two = runs / "moons", runs / "twosided"
    new = ["--out", w / "new-run"]
    cases: list[list] = []
    # train: data, config files, run directories, options that depend on each other
    for data in [
        "moonz",
        files / "missing.npy",
        files / "nan.npy",
        files / "flat.npy",
        files / "empty.npy",
        files / "objects.npy",
        files / "two.npz",
        files / "none.npz",
        files / "text.csv",
        files / "blank.csv",
        files / "ragged.csv",
        files / "data.txt",
        "mnist",
    ]:
        cases.append(["train", "--data", data, *new, *TINY, "--data-dir", w / "no-such-dir"])
    cases += [
        ["train", "--source", files / "three.npy", *new, *TINY],
        ["train", "--source", "nowhere", *new, *TINY],
        ["train", "--data", "moons", "--model", "unet", *new, *TINY],
        ["train", "--data", "moons", "--image-size", "32", *new, *TINY],
        ["train", "--path", "condot", "--sigma-max", "3", *new, *TINY],
        ["train", "--path", "condot", "--sigma-min", "1.5", *new, *TINY],
        ["train", "--path", "ve", "--sigma-min", "20", *new, *TINY],
        ["train", "--path", "vp", "--beta-min", "0", *new, *TINY],
        ["train", "--path", "cosine", "--exponent", "2", *new, *TINY],
        ["train", "--device", "cuda", *new, *TINY] if not torch.cuda.is_available() else ["train", "--device", "tpu", *new, *TINY],
        ["train", "--device", "banana", *new, *TINY],
        ["train", "--channel-mults", "1;2", "--model", "unet", "--data", "digits", *new, *TINY],
        ["train", "--attn-resolutions", "x", "--model", "unet", "--data", "digits", *new, *TINY],
        ["train", "--pairs", files / "missing.pt", *new, *TINY],
        ["train", "--init-from", runs / "garbage-ckpt", *new, *TINY],
        ["train", "--init-from", runs / "trapped-ckpt", *new, *TINY],
        ["train", "--out", moons, *TINY],  # a finished run, without --resume
        ["train", "--out", moons, "--resume", *TINY, "--data", "circles"],
        ["train", "--out", moons, "--resume", *TINY, "--path", "cosine"],
        ["train", "--out", moons, "--resume", *TINY, "--lr", "0.01"],
        ["train", "--out", moons, "--resume", *TINY, "--coupling", "ot"],
        ["train", "--out", moons, "--resume", *TINY, "--hidden", "32"],
        ["train", "--out", moons, "--resume", *TINY, "--seed", "5"],
        ["train", "--out", two, "--resume", *TINY, "--source", "gaussian"],
        ["train", "--out", runs / "garbage-ckpt", "--resume", *TINY],
        ["train", "--out", runs / "trapped-ckpt", "--resume", *TINY],
        ["train", "--out", runs / "garbage-config", "--resume", *TINY],
        ["train", "--out", files / "a_file", *TINY],
        ["train", "--out", files / "a_file" / "run", *TINY],
        ["train", "--recipe", "few-step", "--out", moons, *TINY],
        ["train", "--recipe", "few-step", "--resume", *new, *TINY],
        ["train", "--recipe", "few-step", "--reflow-rounds", "-1", *new, *TINY],
        ["train", "--recipe", "few-step", "--budget-seconds", "nan", *new, *TINY],
        ["train", "--recipe", "few-step", "--reflow-pairs", "0", *new, *TINY],
        ["train", "--recipe", "slow", *new, *TINY],
        ["train", "--config", files / "missing.toml", *new],
        ["train", "--config", files / "bad.toml", *new],
        ["train", "--config", files / "list.yaml", *new],
        ["train", "--config", files / "cfg.ini", *new],
        ["train", "--colour", "red", *new],
        ["train", *new, "extra-argument"],
        ["bogus-command"],
        [],
    ]
    cases += [["train", "--config", p, *new] for p in sorted(files.glob("*-*.toml"))]
    cases += [["train", *new, *TINY, *opt] for opt in train_option_cases()]
    # sample
    s = ["--out", w / "s.npy"]
    cases += [
        ["sample", runs / "nowhere", *s],
        ["sample", files / "a_file", *s],
        ["sample", moons, "--out", w / "s.txt"],
        ["sample", moons],
        ["sample", moons, *s, "--class", "3"],
        ["sample", moons, *s, "--guidance", "2"],
        ["sample", two, *s, "--trajectory", w / "t.png", "--solver", "bogus"],
    ]
    cases += [
        ["sample", runs / name, *s]
        for name in ("garbage-ckpt", "trapped-ckpt", "trapped-pickle", "step-text-ckpt", "garbage-config", "list-config", "typed-config", "unknown-config", "no-ckpt", "no-config")
    ]
    for flag, values in {
        "--n": ["0", "-1", "abc", "1.5", str(10**12), "nan"],
        "--steps": ["0", "-3", "x"],
        "--solver": ["bogus"],
        "--grid": ["zigzag"],
        "--atol": ["0", "-1", "nan", "inf"],
        "--rtol": ["0", "nan"],
        "--seed": ["-1", "x"],
        "--guidance": ["nan", "inf", "x"],
        "--density-guidance": ["nan", "-inf", "x"],
        "--noise-scale": ["-1", "nan", "inf", "x"],
        "--condition": [files / "missing.npy", files / "objects.npy", files / "nan.npy", files / "flat.npy", files / "text.csv"],
    }.items():
        cases += [["sample", moons, *s, flag, v] for v in values]
    cases += [
        ["sample", moons, *s, "--sde", "--solver", "rk4"],
        ["sample", moons, *s, "--noise-scale", "2"],
        ["sample", moons, *s, "--sde", "--density-guidance", "1"],
        ["sample", two, *s, "--sde"],  # no Gaussian source: no score from the velocity
        ["sample", moons, *s, "--condition", files / "one.npy"],  # a run trained without conditions
    ]
    # plot
    cases += [["plot", moons, "--out", w / "plots", "--n", v] for v in ("0", "1", "-5", "x", str(10**12))]
    cases += [["plot", runs / "nowhere", "--out", w / "plots"], ["plot", moons], ["plot", moons, "--out", files / "a_file"], ["plot", runs / "trapped-ckpt", "--out", w / "plots"]]
    # eval
    e = ["eval", moons]
    cases += [
        [*e, "--n", "1"],
        [*e, "--n", "x"],
        [*e, "--metrics", "bogus"],
        [*e, "--metrics", ""],
        [*e, "--metrics", "fd"],
        [*e, "--metrics", "fd", "--classifier", files / "clf.pt"],
        [*e, "--metrics", "fd", "--classifier", files / "trapped-clf.pt"],
        [*e, "--metrics", "fd", "--classifier", files / "missing.pt"],
        [*e, "--ref", files / "one.npy"],
        [*e, "--ref", files / "three.npy"],
        [*e, "--ref", files / "missing.npy"],
        [*e, "--ref", "moonz"],
        [*e, "--sweep-nfe", "1,2"],
        [*e, "--sweep-nfe", "0,2", "--out", w / "sweep"],
        [*e, "--sweep-nfe", "a,b", "--out", w / "sweep"],
        [*e, "--sweep-nfe", "", "--out", w / "sweep"],
        [*e, "--sweep-nfe", "2", "--solvers", "bogus", "--out", w / "sweep"],
        [*e, "--sweep-nfe", "2", "--adaptive", "euler", "--out", w / "sweep"],
        [*e, "--solver", "bogus"],
        [*e, "--steps", "0"],
        [*e, "--probes", "0", "--metrics", "nll"],
        [*e, "--seed", "-2"],
        ["eval", runs / "trapped-ckpt"],
        ["eval", two, "--metrics", "nll"],
    ]
    # likelihood
    lk = ["likelihood", moons]
    cases += [
        [*lk, "--batch-size", "0"],
        [*lk, "--probes", "0"],
        [*lk, "--n", "1"],
        [*lk, "--n", str(10**12)],
        [*lk, "--per-sample", w / "ll.txt"],
        [*lk, "--atol", "0", "--rtol", "0"],
        [*lk, "--solver", "bogus"],
        [*lk, "--probe-kind", "cauchy"],
        [*lk, "--data", files / "three.npy"],
        [*lk, "--data", files / "missing.npy"],
        [*lk, "--exact", "--probes", "2"],
        ["likelihood", two],
        ["likelihood", runs / "trapped-pickle"],
    ]
    # reflow
    r = ["reflow", moons]
    cases += [
        [*r, "--out", moons],
        [*r, "--out", two],
        [*r, "--out", files / "a_file"],
        [*r, "--out", w / "rf", "--pairs", "0"],
        [*r, "--out", w / "rf", "--steps", "-1"],
        [*r, "--out", w / "rf", "--lr", "0"],
        [*r, "--out", w / "rf", "--lr", "nan"],
        [*r, "--out", w / "rf", "--solver-steps", "0"],
        ["reflow", runs / "nowhere", "--out", w / "rf"],
        ["reflow", runs / "trapped-ckpt", "--out", w / "rf"],
        [*r],
    ]
    # export, pretrained models, models by name
    x = ["--out", w / "exported", "--no-eval"]
    cases += [
        ["export", runs / "nowhere", *x],
        ["export", moons, "--out", moons],  # a folder that is not empty
        ["export", moons, "--out", files / "a_file"],
        ["export", moons],
        ["export", runs / "trapped-ckpt", *x],
        ["export", runs / "trapped-pickle", *x],
        ["export", runs / "garbage-config", *x],
        ["export", runs / "no-config", *x],
        ["export", runs / "no-ckpt", *x],
        ["export", moons, *x, "--weights", "bogus"],
        ["export", moons, *x, "--eval-steps", "0,1"],
        ["export", moons, *x, "--eval-steps", "a"],
        ["export", moons, *x, "--n-eval", "1"],
        ["export", moons, *x, "--eval-draws", "0"],
        ["export", moons, *x, "--steps", "0"],
        ["export", moons, *x, "--guidance", "nan"],
        ["export", moons, *x, "--notes", files / "missing.md"],
        ["export", moons, *x, "--push-to-hub", "not an id"],
        ["export", moons, *x, "--push-to-hub", "a/b@main"],
        ["pretrained", "nope"],
        ["pretrained", "pretrained:nope"],
        ["pretrained", "--card"],
        ["pretrained", "nope", "--card"],
        ["sample", "pretrained:nope", *s],
        ["sample", "hf:not an id", *s],
        ["eval", "pretrained:"],
        ["likelihood", "hf:"],
    ]
    # demo
    cases += [["demo", "--out", two], ["demo", "--out", moons], ["demo", "--steps", "-1", "--out", w / "d"], ["demo", "--steps", "x", "--out", w / "d"], ["demo", "--out", files / "a_file"]]
    return cases


def test_every_bad_input_is_one_line_exit_2_and_changes_nothing(world):
    cases = command_cases(world)
    assert len(cases) >= 200, len(cases)
    before = snapshot(world)
    failures = []
    for args in cases:
        try:
            with warnings.catch_warnings():  # a warning printed to the user counts as a second line
                warnings.simplefilter("always")
                warnings.showwarning = _print_warning
                res = cli(*args)
        except BaseException as exc:  # a traceback reaching the user
            failures.append((args, f"raised {type(exc).__name__}: {exc}"))
            continue
        lines = res.stderr.splitlines()
        if res.returncode != 2 or len(lines) != 1 or not lines[0].startswith("error: ") or "Traceback" in res.stderr:
            failures.append((args, f"rc={res.returncode} stderr={res.stderr[-300:]!r}"))
        after = snapshot(world)
        if after != before:
            changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            failures.append((args, f"changed {changed[:5]}"))
            before = after
    assert not (world / "pwned").exists(), "a booby-trapped file ran code"
    assert not failures, "\n".join(f"{' '.join(map(str, a))}: {why}" for a, why in failures[:40]) + f"\n({len(failures)} of {len(cases)} cases)"
