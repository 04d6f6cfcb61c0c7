"""The project's files state what is true now: no development history in them.

- Nowhere (README, changelog, docs, the package's code, comments, docstrings, presets and model
  cards, examples, scripts, benchmarks, tests): numbered work sessions ("session 17",
  "session-10"), issue numbers ("issue 11", "issue #10"), or stories of what was tried. The
  explorer's per-tab `Session` is a thing of the product and stays.
- In the product and its documentation (everything above but tests and benchmarks): no path
  outside the repository (`../shared`, `/work/...`). Tests and benchmarks may read such data, so
  they may name it.

Git keeps the history; the files say what is.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from helpers import REPO

HISTORY = [
    re.compile(r"\bsessions?[ -]\d", re.I),  # session 17, session-10, sessions 15 and 16
    re.compile(r"\b(?:this|that|earlier|previous|later|last|next|other) (?:work )?sessions?\b", re.I),
    re.compile(r"\bissues?\s*#?\d+", re.I),  # issue 11, issues 4, issue #10
    re.compile(r"\bwe (?:tried|then tried)\b", re.I),
]
OUTSIDE = re.compile(r"\.\./shared|/work/")
TEXT = (".py", ".md", ".toml", ".yml", ".yaml", ".json", ".txt", ".sh", ".cfg", ".html", ".js", ".css")
HISTORY_ROOTS = ("README.md", "CHANGELOG.md", "mkdocs.yml", "docs/", "src/", "examples/", "scripts/", "benchmarks/", "tests/", ".ci/", "pyproject.toml")
PRODUCT_ROOTS = ("README.md", "CHANGELOG.md", "mkdocs.yml", "docs/", "src/", "examples/", "scripts/", "pyproject.toml")
THIS = "tests/test_no_chronology.py"


def tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split("\n")
    return [f for f in out if f and f != THIS and (f.endswith(TEXT) or "/" not in f) and (REPO / f).is_file()]


def offences(files: list[str], roots: tuple[str, ...], patterns: list[re.Pattern]) -> list[str]:
    found = []
    for f in files:
        if not f.startswith(roots):
            continue
        try:
            text = (REPO / f).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            for p in patterns:
                m = p.search(line)
                if m:
                    found.append(f"{f}:{n}: {m.group(0)!r} in {line.strip()[:120]!r}")
    return found


@pytest.fixture(scope="module")
def files() -> list[str]:
    return tracked()


def test_no_sessions_issue_numbers_or_stories_of_what_was_tried(files):
    bad = offences(files, HISTORY_ROOTS, HISTORY)
    assert not bad, "history in the project's files (git keeps it):\n" + "\n".join(bad)


def test_no_paths_outside_the_repository_in_the_product_or_its_docs(files):
    bad = offences(files, PRODUCT_ROOTS, [OUTSIDE])
    assert not bad, "paths a user does not have:\n" + "\n".join(bad)


def test_the_patterns_catch_what_they_are_for():
    history = ["measured in session 17", "the session-10 runs", "sessions 15 and 16", "Issue 11 asks for", "issue #10", "of earlier sessions", "we tried a larger batch"]
    fine = ["one Session per browser tab", "a session per tab trains a Trainer", "distributed.session(device)", "the issue tracker"]
    assert all(any(p.search(s) for p in HISTORY) for s in history)
    assert not any(p.search(s) for p in HISTORY for s in fine)
    assert OUTSIDE.search("python x.py --data-dir ../shared/data/mnist-subset") and OUTSIDE.search("/work/main/docs")


def test_every_docs_file_the_project_names_exists(files):
    """A comment that points to a documentation page points to one that is there."""
    named = re.compile(r"\bdocs/[\w./-]+\.(?:md|png|jsonl|csv|json)\b")
    missing = []
    for f in files:
        if f.startswith(("src/", "tests/", "benchmarks/", "examples/", "scripts/", "docs/", "README.md", "pyproject.toml")):
            for m in named.finditer((REPO / f).read_text(encoding="utf-8", errors="replace")):
                if not (REPO / m.group(0)).exists():
                    missing.append(f"{f}: {m.group(0)}")
    assert not missing, "\n".join(missing)
