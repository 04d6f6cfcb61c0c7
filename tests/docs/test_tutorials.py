"""Every tutorial (docs/tutorials/*.py, jupytext percent scripts) runs to the end.

With FLOWMATCH_TUTORIAL_QUICK=1 each one shrinks its step counts (and says so in its first cell),
so that all of them together take about a minute on two cores; without it each takes about two
minutes on a laptop CPU. They run in this process, in a fresh clone, so they write only under
runs/ there.
"""

from __future__ import annotations

import runpy

import pytest

from helpers import REPO, fresh_clone

TUTORIALS = sorted((REPO / "docs" / "tutorials").glob("*.py"))


def test_every_tutorial_is_in_the_site_and_says_how_ci_runs_it():
    nav = (REPO / "mkdocs.yml").read_text()
    for script in TUTORIALS:
        assert f"tutorials/{script.stem}.md" in nav, script.name
        assert script.read_text().startswith("# %% [markdown]\n# # "), f"{script.name}: a jupytext percent script opening with its title"
        assert "FLOWMATCH_TUTORIAL_QUICK" in script.read_text(), script.name


@pytest.mark.parametrize("script", TUTORIALS, ids=lambda p: p.stem)
def test_the_tutorial_runs(script, tmp_path, monkeypatch):
    clone = fresh_clone(tmp_path)
    monkeypatch.chdir(clone)
    monkeypatch.setenv("FLOWMATCH_TUTORIAL_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("FLOWMATCH_TUTORIAL_DATA", raising=False)
    runpy.run_path(str(script), run_name="__main__")
    assert any((clone / "runs" / "tutorials" / script.stem).iterdir()), "a tutorial writes its pictures under runs/tutorials/NAME/"
