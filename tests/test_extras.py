"""The optional extras: each one's packages are installed (scripts/setup.sh installs them all, as
CI does) and import, and none lists a package that would replace the installed torch."""

from __future__ import annotations

import importlib
import importlib.metadata as md
import re
import tomllib

import pytest

from helpers import REPO

EXTRAS = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
# packages whose requirements pin a torch build (torchdyn -> torchvision == a torch version): never in an extra
REPLACES_TORCH = {"torch", "torchvision", "torchaudio", "torchcfm", "torchdyn", "torch-fidelity"}
NO_DEPS = {"bench": ["torchcfm"]}  # installed by scripts/setup.sh with --no-deps
# what is imported of a package ("module:attribute" also loads a lazily imported attribute)
IMPORTS = {"torchcfm": ["torchcfm.conditional_flow_matching"], "flow-matching": ["flow_matching.path"], "diffusers": ["diffusers:UNet2DModel"], "import-linter": ["importlinter"]}


def dist_name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def modules_of(dist: str) -> list[str]:
    if dist in IMPORTS:
        return IMPORTS[dist]
    top = [m for m, dists in md.packages_distributions().items() if dist in {d.lower().replace("_", "-") for d in dists} and not m.startswith("_")]
    return sorted(top)[:3] or [dist.replace("-", "_")]


def test_the_extras_are_the_documented_ones():
    assert set(EXTRAS) >= {"images", "diffusers", "explore", "hub", "bench", "test", "lint", "tensorboard", "wandb"}


@pytest.mark.parametrize("extra", sorted(EXTRAS))
def test_no_extra_replaces_torch(extra):
    names = {dist_name(r) for r in EXTRAS[extra]}
    assert not names & REPLACES_TORCH, f"[{extra}] lists {sorted(names & REPLACES_TORCH)}: install those with --no-deps (scripts/setup.sh)"


@pytest.mark.parametrize("extra", sorted(EXTRAS))
def test_each_extra_is_installed_and_imports(extra):
    for dist in [dist_name(r) for r in EXTRAS[extra]] + NO_DEPS.get(extra, []):
        try:
            md.version(dist)
        except md.PackageNotFoundError:
            pytest.fail(f"[{extra}]: {dist} is not installed; scripts/setup.sh installs every extra")
        for name in modules_of(dist):
            module, _, attr = name.partition(":")
            mod = importlib.import_module(module)
            if attr:
                getattr(mod, attr)
