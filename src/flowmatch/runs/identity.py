"""What makes a run the same run: the config it was trained with and the files it was trained on.

Every checkpoint carries both: the trainer's `config`, and `files`, a fingerprint of each data,
source and pairs file (its size, modification time and SHA-256, hashed once when the run starts
and carried from checkpoint to checkpoint). A resume is compared against them, not only against
`config.json`: another run's checkpoint copied in, a `config.json` deleted or edited, or a data
file whose contents changed under the same name is refused with every differing field named.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from typing import Any

from flowmatch.errors import FlowmatchError
from flowmatch.fileio import open_regular
from flowmatch.runs.checkpoint import load_checkpoint
from flowmatch.runs.files import CHECKPOINT, CONFIG_FILE, load_config, upgrade_config
from flowmatch.training import TrainConfig

# What a resume may change: how long and how often, and where it runs. Anything else (data,
# source, path, coupling, model and its sizes, optimiser, seed, ...) would make it another run.
MAY_CHANGE_ON_RESUME = ("steps", "max_minutes", "save_every", "log_every", "sample_every", "val_every", "device", "progress", "prefetch", "out", "logger")
FILE_OPTIONS = ("data", "source", "pairs", "val_data")  # options that may name a file a run is trained on
_CHUNK = 1 << 20


def changed_fields(saved: TrainConfig | dict[str, Any], new: TrainConfig) -> list[str]:
    """Options that differ between two configs, other than those a resume may change (an option
    the saved config does not name is one added since it was written: it is not compared)."""
    a = upgrade_config(dataclasses.asdict(saved) if isinstance(saved, TrainConfig) else dict(saved))
    b = dataclasses.asdict(new)
    return sorted(k for k in b if k not in MAY_CHANGE_ON_RESUME and k in a and a[k] != b[k])


def fingerprint(path: str | Path) -> dict[str, Any]:
    """{size, mtime_ns, sha256} of a regular file."""
    p = Path(path)
    st = p.stat()
    digest = hashlib.sha256()
    with open_regular(p) as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest.hexdigest()}


def file_fingerprints(config: TrainConfig, known: dict[str, Any] | None = None) -> dict[str, Any]:
    """{option: fingerprint} of each regular file the config trains on (folders and built-in sets
    have none). A file whose size and modification time match `known` is not hashed again."""
    out: dict[str, Any] = {}
    for option in FILE_OPTIONS:
        spec = getattr(config, option, "")
        if not spec or not os.path.isfile(spec):
            continue
        old = (known or {}).get(option)
        st = os.stat(spec)
        if isinstance(old, dict) and old.get("size") == st.st_size and old.get("mtime_ns") == st.st_mtime_ns and isinstance(old.get("sha256"), str):
            out[option] = old
        else:
            out[option] = fingerprint(spec)
    return out


def resume_base(run_dir: str | Path) -> dict[str, Any] | None:
    """The options the run in `run_dir` was trained with, as a resume starts from them: its
    checkpoint's config (what it was trained with), else its config.json; None if it has neither."""
    if not str(run_dir).strip():
        return None  # an empty --out: refused by train
    run_dir = Path(run_dir)
    if (run_dir / CHECKPOINT).exists():
        saved = load_checkpoint(run_dir / CHECKPOINT).get("config")
        if isinstance(saved, dict):
            known = {f.name for f in dataclasses.fields(TrainConfig)}
            return {k: v for k, v in upgrade_config(saved).items() if k in known}
    if (run_dir / CONFIG_FILE).exists():
        return dataclasses.asdict(load_config(run_dir / CONFIG_FILE))
    return None


def check_identity(state: dict[str, Any], config: TrainConfig, run_dir: Path) -> dict[str, Any]:
    """Refuse to resume the checkpoint `state` with `config` unless it is the same run; returns the
    fingerprints to carry on. Names every option that differs, and every file whose contents changed."""
    saved = state.get("config")
    problems: list[str] = []
    if isinstance(saved, dict):
        problems += [k.replace("_", "-") for k in changed_fields(saved, config)]
    elif saved is not None:
        raise FlowmatchError(f"corrupt checkpoint in {run_dir}: its config is not a table of options")
    known = state.get("files") if isinstance(state.get("files"), dict) else {}
    now = file_fingerprints(config, known)
    if not isinstance(saved, dict) or all(saved.get(k) == getattr(config, k) for k in FILE_OPTIONS if k in saved):
        for option, old in known.items():
            if not isinstance(old, dict):
                continue
            new = now.get(option)
            if new is None or new.get("sha256") != old.get("sha256"):
                problems.append(f"contents of the {option} file {getattr(config, option, '')} (size {old.get('size')} -> {None if new is None else new['size']} bytes)")
    if problems:
        raise FlowmatchError(f"cannot resume {run_dir}: its checkpoint was trained with other {', '.join(problems)}; choose another --out")
    return now


__all__ = ["FILE_OPTIONS", "MAY_CHANGE_ON_RESUME", "changed_fields", "check_identity", "file_fingerprints", "fingerprint", "resume_base"]
