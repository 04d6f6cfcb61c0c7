"""The two layers at run time: importing a library package loads no application module and no
matplotlib (docs/architecture.md); the top-level names load lazily."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import subprocess_env

LIBRARY = (
    "flowmatch.paths",
    "flowmatch.couplings",
    "flowmatch.solvers",
    "flowmatch.loss",
    "flowmatch.guidance",
    "flowmatch.likelihood",
    "flowmatch.metrics",
    "flowmatch.models",
    "flowmatch.data",
    "flowmatch.interop",
    "flowmatch.options",
    "flowmatch.parsing",
    "flowmatch.fileio",
    "flowmatch.errors",
    "flowmatch.closed_form",
    "flowmatch.schedulers",
    "flowmatch.discrete",
)
APPLICATION = ("flowmatch.training", "flowmatch.runs", "flowmatch.recipes", "flowmatch.evaluation", "flowmatch.viz", "flowmatch.hub", "flowmatch.explore", "flowmatch.cli")
FORBIDDEN = (*APPLICATION, "matplotlib")

# One fresh interpreter imports each package in turn, with every flowmatch and matplotlib module
# dropped from sys.modules before each, and reports what each import loaded.
PROBE = """
import importlib, json, sys

def under(name, prefixes):
    return any(name == p or name.startswith(p + ".") for p in prefixes)

def forget():
    for name in [m for m in sys.modules if under(m, ("flowmatch", "matplotlib"))]:
        del sys.modules[name]

packages, forbidden = json.loads(sys.argv[1]), tuple(json.loads(sys.argv[2]))
loaded = {}
for package in packages:
    forget()
    importlib.import_module(package)
    loaded[package] = sorted(m for m in sys.modules if under(m, forbidden))
forget()
import flowmatch
loaded["flowmatch"] = sorted(m for m in sys.modules if under(m, ("flowmatch",)) and m != "flowmatch")
from flowmatch import solve
loaded["from flowmatch import solve"] = sorted(m for m in sys.modules if under(m, forbidden))
print(json.dumps(loaded))
"""


@pytest.fixture(scope="module")
def loaded() -> dict[str, list[str]]:
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(LIBRARY), json.dumps(FORBIDDEN)], capture_output=True, text=True, env=subprocess_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("package", LIBRARY)
def test_a_library_package_loads_no_application_module_and_no_matplotlib(loaded, package):
    assert loaded[package] == [], f"import {package} loaded {loaded[package]}"


def test_import_flowmatch_is_light_and_its_names_are_lazy(loaded):
    assert loaded["flowmatch"] == []  # the top-level package alone imports none of its subpackages
    assert loaded["from flowmatch import solve"] == []


def test_the_top_level_names():
    import flowmatch
    from flowmatch import TrainConfig, fit, load_run, sample_run, solve, train
    from flowmatch.runs import load_run as runs_load_run
    from flowmatch.runs import sample_run as runs_sample_run
    from flowmatch.runs import train as runs_train
    from flowmatch.solvers import solve as solvers_solve
    from flowmatch.training import TrainConfig as training_config
    from flowmatch.training import fit as training_fit

    assert (TrainConfig, fit, load_run, sample_run, solve, train) == (training_config, training_fit, runs_load_run, runs_sample_run, solvers_solve, runs_train)
    assert set(flowmatch.__all__) <= set(dir(flowmatch))
    for name in flowmatch.__all__:
        assert getattr(flowmatch, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        flowmatch.nope  # noqa: B018
