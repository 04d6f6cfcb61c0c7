"""The documentation site builds with `mkdocs build --strict`: every page in the navigation,
every link and anchor resolves, the API reference renders from the docstrings, and the
command-line reference and tutorial pages are generated (scripts/docs_hooks.py)."""

from __future__ import annotations

import subprocess
import sys

from helpers import REPO


def test_the_site_builds_strictly(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    cli_page = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text()
    for command in ("train", "sample", "eval", "export", "explore"):
        assert f"flowmatch {command}" in cli_page
    assert "flowmatch.solvers.solve" in (tmp_path / "site" / "reference" / "api" / "solvers" / "index.html").read_text()
