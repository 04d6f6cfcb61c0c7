"""Every code block of the documentation runs, as written, from a fresh clone.

Each page's runnable blocks (tests/helpers.py says which) run in order in their own fresh clone: the
Python blocks in one namespace (a later block may use what an earlier one made), the shell lines
with `.venv/bin` on PATH. A plain `flowmatch ...` line runs through `flowmatch.cli.main` in this
process (the same entry point, without a Python start-up per command); any other line runs in
bash. The site's build itself is tests/docs/test_site.py.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import types

import pytest

from helpers import REPO, RUNNABLE, blocks, cli, doc_pages, fresh_clone, shell_lines

PAGES = doc_pages()
SIMPLE_CLI = re.compile(r"(?:\.venv/bin/)?flowmatch(?: [^|&;<>$`()*?]*)?")
SHOWN = {"text", "toml", "yaml", "json", "console", "html"}  # languages of blocks that are shown, never run


def _id(path) -> str:
    return str(path.relative_to(REPO / "docs"))


@pytest.mark.parametrize("page", PAGES + [REPO / "README.md"], ids=lambda p: _id(p) if p.is_relative_to(REPO / "docs") else p.name)
def test_every_block_runs_or_says_why_not(page):
    for block in blocks(page):
        assert block.lang in RUNNABLE or block.lang in SHOWN, f"{block.where()}: a ```{block.lang or '(no language)'} block; use python or bash to run it, or text"
        if block.no_run is not None:
            assert block.no_run, f"{block.where()}: a no-run marker needs a reason"
            assert block.lang in RUNNABLE, f"{block.where()}: no-run on a block that would not run anyway"


def run_page(page, tmp_path, monkeypatch) -> None:
    clone = fresh_clone(tmp_path)
    monkeypatch.chdir(clone)
    env = dict(os.environ, PATH=f"{REPO / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}", MPLBACKEND="Agg", OMP_NUM_THREADS="1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    module = types.ModuleType("docs_page")  # a real module, so that a page may define a dataclass
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = module.__dict__
    for block in blocks(page):
        if not block.runs:
            continue
        if block.lang == "python":
            exec(compile(block.body, block.where(), "exec"), namespace)
            continue
        for line in shell_lines(block.body):
            if SIMPLE_CLI.fullmatch(line):
                result = cli(*shlex.split(line, comments=True)[1:])
                assert result.returncode == 0, f"{block.where()}: {line}\n{result.stderr[-2000:]}"
            else:
                proc = subprocess.run(["bash", "-c", line], cwd=clone, env=env, capture_output=True, text=True, timeout=300)
                assert proc.returncode == 0, f"{block.where()}: {line}\n{proc.stderr[-2000:]}"


@pytest.mark.parametrize("page", [p for p in PAGES if any(b.runs for b in blocks(p))], ids=_id)
def test_the_page_runs(page, tmp_path, monkeypatch):
    run_page(page, tmp_path, monkeypatch)
