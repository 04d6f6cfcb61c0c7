"""MkDocs hooks: pages generated from the code, so that they cannot drift from it.

- `reference/cli.md`: every command of `flowmatch.cli.build_parser()` with its usage and a table of
  its options (flags, default, help), rendered from the parser itself.
- `tutorials/NAME.md`: each jupytext percent-format script `docs/tutorials/NAME.py`, converted to
  Markdown by jupytext (the scripts are the source; tests/docs/test_tutorials.py runs them).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mkdocs.structure.files import File

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _default(action: argparse.Action) -> str:
    if action.default in (None, argparse.SUPPRESS) or isinstance(action, argparse._HelpAction):
        return ""
    if isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction) and action.default in (True, False):
        return "on" if action.default else "off"
    return f"`{action.default}`"


def _cell(text: str) -> str:
    return " ".join((text or "").split()).replace("|", "\\|").replace("<", "&lt;")


def cli_reference() -> str:
    from flowmatch.cli import COMMANDS, build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    lines = [
        "# Command line",
        "",
        "Generated from the parser of `flowmatch` (`flowmatch COMMAND --help` prints the same).",
        "Every command prints JSON on stdout; bad input ends with one line `error: ...` on stderr and exit code 2.",
        "",
    ]
    for name in COMMANDS:
        p = sub.choices[name]
        usage = " ".join(p.format_usage().replace("usage: ", "").split())
        lines += [f"## `flowmatch {name}`", "", p.description or "", "", "```text", usage, "```", ""]
        rows = [a for a in p._actions if not isinstance(a, argparse._HelpAction)]
        if rows:
            lines += ["| argument | default | meaning |", "|---|---|---|"]
            for a in rows:
                flags = ", ".join(f"`{s}`" for s in a.option_strings) or f"`{a.metavar or a.dest.upper()}`"
                help_text = "" if a.help == argparse.SUPPRESS else p._get_formatter()._expand_help(a) if a.help else ""
                names = ", ".join(str(c) or '""' for c in a.choices) if a.choices and not isinstance(a.choices, dict) else ""
                choices = f" (one of: {names})" if names else ""
                lines.append(f"| {flags} | {_cell(_default(a))} | {_cell(help_text + choices)} |")
            lines.append("")
    return "\n".join(lines)


def tutorial_markdown(path: Path) -> str:
    import jupytext

    text = _strip_front_matter(jupytext.writes(jupytext.read(path), fmt="md"))
    source = (
        f'\n\n!!! note "Run it"\n    This page is the script `docs/tutorials/{path.name}` (jupytext percent format: open it as a notebook'
        f" with `jupytext --to notebook`, or run it with `python docs/tutorials/{path.name}`). The tests run it with"
        " `FLOWMATCH_TUTORIAL_QUICK=1`, which shrinks its step counts so that it finishes in seconds.\n"
    )
    title, _, rest = text.partition("\n")
    return title + source + rest


def _strip_front_matter(text: str) -> str:
    if text.startswith("---\n"):
        text = text.split("\n---\n", 1)[1]
    return text.lstrip()


def on_files(files, config):
    files.append(File.generated(config, "reference/cli.md", content=cli_reference()))
    for script in sorted((DOCS / "tutorials").glob("*.py")):
        files.append(File.generated(config, f"tutorials/{script.stem}.md", content=tutorial_markdown(script)))
    return files
