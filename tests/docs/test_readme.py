"""The README is a short front door whose every command runs, as written, from a fresh clone.

CI runs the second line of the README's first code block as its test command (.ci/run), so that
line's shape is fixed here. The commands run in a fresh clone (tests/helpers.py: `fresh_clone`)
in real processes, exactly as a reader would type them after the set-up, and may write only
under runs/ (git ignores it): a quick start leaves nothing in the repository's root.
"""

from __future__ import annotations

import os
import subprocess

from helpers import REPO, blocks, fresh_clone, shell_lines

README = REPO / "README.md"
TEST_COMMAND = "bash scripts/setup.sh && .venv/bin/python -m pytest"


def test_the_readme_is_short_and_starts_with_the_two_commands():
    assert len(README.read_text().splitlines()) <= 150
    first = blocks(README)[0]
    lines = first.body.splitlines()
    assert lines[1] == TEST_COMMAND
    assert lines[0].startswith("bash scripts/setup.sh && .venv/bin/flowmatch ")


def test_the_readme_names_every_command():
    from flowmatch.cli import COMMANDS

    text = README.read_text()
    assert all(f"`flowmatch {name}`" in text for name in COMMANDS)


def test_every_readme_command_runs_from_a_fresh_clone(tmp_path):
    clone = fresh_clone(tmp_path)
    before = {p.name for p in clone.iterdir()}
    env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1")
    ran = 0
    for block in blocks(README):
        if not block.runs:
            continue
        if block.lang == "python":
            proc = subprocess.run([".venv/bin/python", "-"], input=block.body, cwd=clone, env=env, capture_output=True, text=True, timeout=300)
            assert proc.returncode == 0, f"{block.where()}\n{proc.stderr[-2000:]}"
            ran += 1
            continue
        for line in shell_lines(block.body):
            proc = subprocess.run(["bash", "-c", line], cwd=clone, env=env, capture_output=True, text=True, timeout=300)
            assert proc.returncode == 0, f"{block.where()}: {line}\n{proc.stderr[-2000:]}"
            ran += 1
    assert ran >= 6
    assert {p.name for p in clone.iterdir()} - before <= {"runs"}, "a README command left files in the repository's root"
    assert (clone / "runs" / "quickstart" / "moons.png").stat().st_size > 0
    assert (clone / "runs" / "quickstart" / "digits.png").stat().st_size > 0
