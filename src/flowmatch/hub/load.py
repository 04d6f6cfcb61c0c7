"""`from_pretrained`: a model from an exported folder, a packaged model, the Hub, or a run directory.

What it takes (`name_or_path`):

- a folder written by `flowmatch export` (model.safetensors + config.json);
- `pretrained:NAME`, a model shipped in the package (`flowmatch pretrained` lists them);
- `hf:OWNER/NAME[@REVISION]`, or a bare `OWNER/NAME` that is not a local path, a folder on the
  Hugging Face Hub (needs the `hub` extra and a network; nothing else here does);
- a run directory (checkpoint.pt + config.json), as `load_run` reads it.

Each gives a `Pretrained`: a `Run` (so `sample_run`, `evaluate_run` and `run_log_likelihood`
take it) with `sample()`, `save_pretrained()` and `push_to_hub()` in the manner of
huggingface_hub's `ModelHubMixin`. The command line uses `load_model`, which is the same
without bare Hub ids, so that a mistyped run directory never becomes a network request.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from flowmatch.errors import FlowmatchError
from flowmatch.hub import hf
from flowmatch.hub.files import CARD_FILE, CONFIG_FILE, MODEL_FILE, PICTURE, load_tensors, new_folder, read_export_config, read_source_mixture, read_source_points, write_export_files
from flowmatch.hub.registry import PREFIX, pretrained_folder
from flowmatch.runs import CHECKPOINT, Run, build_run, card_recommendation, load_run, sample_run, sample_tokens

HUB_PREFIX = "hf:"
REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*(@[A-Za-z0-9._/-]+)?$")


@dataclass
class Pretrained(Run):
    """A loaded model: a `Run` plus where it came from and its export config (empty for a run
    directory). `folder` is the exported folder it was read from, if any."""

    name_or_path: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    folder: Path | None = None

    @torch.no_grad()
    def sample(self, n: int, *, method: str | None = None, steps: int | None = None, seed: int = 0, y: Tensor | None = None, guidance: float = 1.0) -> Tensor:
        """(n, *D) samples at t = 1 (images in [-1, 1]; a discrete run's (n, L) tokens), by default
        with the solver and steps that `flowmatch sample` uses (its card's recommendation); y: (n,)
        class labels, guidance as `sample_run`."""
        if self.discrete:
            return sample_tokens(self, n, method=method, steps=steps, seed=seed, y=y, guidance=guidance).x
        return sample_run(self, n, method=method, steps=steps, seed=seed, y=y, guidance=guidance).x

    def save_pretrained(self, save_directory: str | Path, *, push_to_hub: bool = False, repo_id: str | None = None, token: str | None = None) -> Path:
        """Write this model as an exported folder (weights, config.json, and the card and picture
        of the folder it came from); `push_to_hub=True` then uploads it to `repo_id`."""
        out = Path(save_directory)
        with new_folder(out) as tmp:
            extra = {k: v for k, v in self.meta.items() if k in ("name", "description", "recommended")}
            write_export_files(self, tmp, self.meta.get("weights", "ema"), extra)
            for name in (CARD_FILE, PICTURE):
                if self.folder is not None and (self.folder / name).is_file():
                    shutil.copyfile(self.folder / name, tmp / name)
        if push_to_hub:
            self.push_to_hub(repo_id or out.name, token=token, folder=out)
        return out

    def push_to_hub(self, repo_id: str, *, token: str | None = None, private: bool = False, commit_message: str = "Upload flowmatch model", folder: str | Path | None = None) -> str:
        """Upload the exported folder (written to a temporary one first if there is none) to the
        Hub repository `repo_id`; returns its URL. Needs the `hub` extra, a network and a token."""
        if folder is not None:
            return hf.upload_folder(Path(folder), repo_id, token=token, private=private, commit_message=commit_message)
        with tempfile.TemporaryDirectory() as tmp:
            out = self.save_pretrained(Path(tmp) / "model")
            return hf.upload_folder(out, repo_id, token=token, private=private, commit_message=commit_message)

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path, **kwargs: Any) -> Pretrained:
        return from_pretrained(name_or_path, **kwargs)


def is_export(folder: Path) -> bool:
    return (folder / MODEL_FILE).is_file() and not (folder / CHECKPOINT).exists()


def load_export(folder: str | Path, device: str = "auto", name_or_path: str | None = None) -> Pretrained:
    """A `Pretrained` from an exported folder (model.safetensors + config.json)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FlowmatchError(f"exported model folder not found: {folder}")
    meta, config = read_export_config(folder)
    weights = load_tensors(folder / MODEL_FILE)
    points = read_source_points(folder, config)
    mixture = read_source_mixture(folder, config)
    step = meta.get("step", 0)
    return build_run(
        config,
        weights,
        tuple(meta["data_shape"]),
        meta["num_classes"],
        step=step if type(step) is int and step >= 0 else 0,
        device=device,
        source_points=points,
        source_mixture=mixture,
        vocab_size=meta.get("vocab_size", 0),
        vocabulary=meta.get("vocabulary"),
        where=folder,
        cls=Pretrained,
        recommended=card_recommendation(meta),
        name_or_path=name_or_path or str(folder),
        meta=meta,
        folder=folder,
    )


def from_run_dir(run_dir: str | Path, device: str = "auto", use_ema: bool = True, checkpoint: str = "last") -> Pretrained:
    run = load_run(run_dir, device=device, use_ema=use_ema, checkpoint=checkpoint)
    return Pretrained(**{f: getattr(run, f) for f in Run.__dataclass_fields__}, name_or_path=str(run_dir))


def load_model(name_or_path: str | Path, device: str = "auto", *, bare_hub_ids: bool = False, checkpoint: str = "last", **hub_kwargs: Any) -> Pretrained:
    """A run directory, an exported folder, `pretrained:NAME` or `hf:OWNER/NAME[@REV]` (and, with
    bare_hub_ids, `OWNER/NAME` when no such local path exists); one-line errors. checkpoint:
    a run directory's last checkpoint or its best by validation (best.pt, kept by --val-data)."""
    spec = str(name_or_path)
    if checkpoint != "last" and (spec.startswith((PREFIX, HUB_PREFIX)) or is_export(Path(spec))):
        raise FlowmatchError(f"--checkpoint {checkpoint} picks a run directory's checkpoint; {spec} is an exported model (export the best one with flowmatch export --checkpoint best)")
    if checkpoint != "last":
        return from_run_dir(Path(spec), device, checkpoint=checkpoint)
    if spec.startswith(PREFIX):
        return load_export(pretrained_folder(spec[len(PREFIX) :]), device, name_or_path=spec)
    if spec.startswith(HUB_PREFIX):
        return _from_hub(spec[len(HUB_PREFIX) :], device, **hub_kwargs)
    path = Path(spec)
    if path.is_dir():
        return load_export(path, device) if is_export(path) else from_run_dir(path, device)
    if bare_hub_ids and not path.exists() and REPO_ID.match(spec):
        try:
            return _from_hub(spec, device, **hub_kwargs)
        except FlowmatchError as exc:  # it may as well have been a mistyped local path: say both
            raise FlowmatchError(f"no run directory or exported folder {spec}, and as a Hub id: {exc}") from None
    return from_run_dir(path, device)  # its one-line error: no such run directory


def from_pretrained(
    name_or_path: str | Path, *, device: str = "auto", revision: str | None = None, token: str | None = None, cache_dir: str | None = None, local_files_only: bool = False
) -> Pretrained:
    """Load a model to sample, evaluate or score with (see the module's docstring for what
    `name_or_path` may be); keywords as huggingface_hub's `from_pretrained` for Hub ids."""
    return load_model(name_or_path, device, bare_hub_ids=True, revision=revision, token=token, cache_dir=cache_dir, local_files_only=local_files_only)


_HUB_PART = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$")
_REVISION = re.compile(r"^[A-Za-z0-9._/-]{1,255}$")


def check_hub_id(repo: str, revision: str | None) -> None:
    """OWNER/NAME and a revision as the Hub and huggingface_hub's `validate_repo_id` take them:
    each part 1 to 96 of letters, digits, '-', '_', '.', not starting or ending with '-' or '.',
    no '--' or '..', no '.git' ending; a revision a branch, tag or commit name with no '..', no
    '//', no leading '/' or '-': nothing that could name a folder outside the Hub's cache."""
    parts = repo.split("/")
    if len(parts) != 2 or not all(_HUB_PART.match(p) for p in parts) or "--" in repo or ".." in repo or repo.endswith(".git"):
        raise FlowmatchError(f"not a Hugging Face Hub model id: {repo!r} (expected OWNER/NAME of letters, digits, '-', '_', '.')")
    if revision is None:
        return
    if not isinstance(revision, str) or not _REVISION.match(revision) or ".." in revision or "//" in revision or revision[0] in "/-." or revision.endswith(("/", ".lock")):
        raise FlowmatchError(f"not a Hub revision: {str(revision)[:80]!r} (a branch, tag or commit name)")


def _from_hub(repo: str, device: str, revision: str | None = None, **kwargs: Any) -> Pretrained:
    if "@" in repo:
        repo, revision = repo.split("@", 1)
    check_hub_id(repo, revision)
    folder = hf.download(repo, revision=revision, **kwargs)
    if not (folder / MODEL_FILE).is_file() or not (folder / CONFIG_FILE).is_file():
        raise FlowmatchError(f"the Hub repository {repo} holds no flowmatch export ({MODEL_FILE} and {CONFIG_FILE})")
    return load_export(folder, device, name_or_path=f"{HUB_PREFIX}{repo}" + (f"@{revision}" if revision else ""))


__all__ = ["HUB_PREFIX", "REPO_ID", "Pretrained", "check_hub_id", "from_pretrained", "from_run_dir", "is_export", "load_export", "load_model"]
