"""The README's command-line synopsis names only real commands and flags, and every command."""

import re
from pathlib import Path

from flowmatch.cli import COMMANDS, build_parser

README = Path(__file__).resolve().parents[2] / "README.md"


def _synopsis() -> dict[str, set[str]]:
    text = README.read_text()
    block = text.split("## Command line", 1)[1].split("```", 2)[1]
    flags: dict[str, set[str]] = {}
    command = None
    for line in block.splitlines():
        m = re.match(r"\s*flowmatch (\w+)", line)
        if m:
            command = m.group(1)
        elif not line.startswith(" "):
            command = None  # e.g. the torchrun line
        if command:
            flags.setdefault(command, set()).update(re.findall(r"--[a-z][a-z0-9-]*", line))
    return flags


def _parser_flags() -> dict[str, set[str]]:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return {name: {s for a in p._actions for s in a.option_strings} for name, p in sub.choices.items()}


def test_every_command_is_in_the_synopsis_and_every_flag_exists():
    synopsis, parser = _synopsis(), _parser_flags()
    assert set(synopsis) == set(COMMANDS) == set(parser)
    for command, flags in synopsis.items():
        assert flags, command
        assert flags <= parser[command], (command, sorted(flags - parser[command]))
