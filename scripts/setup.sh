#!/usr/bin/env bash
# Set up a virtual environment in .venv with flowmatch installed (editable), its test tools and
# the explorer's web server packages (the `explore` extra, which the tests of `flowmatch explore` need).
# torch is installed first and pinned: on this kind of machine `torch==2.13.0` is the CPU build
# kept on disk, while a bare `torch` would pull a multi-GB CUDA build. Override with
# TORCH_SPEC (e.g. TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu").
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
pip() { .venv/bin/python -m pip "$@" 2> >(grep -v "WARNING: Location" >&2); }
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  pip install -q ${TORCH_SPEC:-torch==2.13.0}
fi
pip install -q -e ".[test,lint,explore]"
