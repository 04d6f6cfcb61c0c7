#!/usr/bin/env bash
# Set up a virtual environment in .venv with flowmatch installed (editable), its optional extras
# and its test tools, so that the tests of every extra run.
# torch is installed first and pinned: on this kind of machine `torch==2.13.0` is the CPU build
# kept on disk, while a bare `torch` would pull a multi-GB CUDA build. Override with
# TORCH_SPEC (e.g. TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu").
# No extra may replace that torch: they list no package that pins one (diffusers, huggingface_hub,
# tensorboard, wandb and flow_matching need none or take the one installed), and torchcfm, whose
# torchdyn dependency pulls torchvision and with it another torch build, is installed with
# --no-deps (what it imports, torch, numpy, scipy and pot, is here already). The script checks
# that torch is the same at the end. FLOWMATCH_EXTRAS chooses the extras (default: all of them).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
EXTRAS=${FLOWMATCH_EXTRAS:-test,lint,images,hub,diffusers,tensorboard,wandb,explore,bench}
step() { echo "setup: $*" >&2; }  # what it is doing, on stderr (pip itself runs quiet)
[ -x .venv/bin/python ] || { step "creating .venv"; "$PY" -m venv .venv; }
pip() { .venv/bin/python -m pip "$@" 2> >(grep -v "WARNING: Location" >&2); }
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  step "installing ${TORCH_SPEC:-torch==2.13.0} (the largest download, a minute or more)"
  pip install -q ${TORCH_SPEC:-torch==2.13.0}
fi
# -W ignore: before the extras bring numpy, importing torch warns that numpy is missing
torch_before=$(.venv/bin/python -W ignore -c "import torch; print(torch.__version__)")
step "installing flowmatch with the extras $EXTRAS"
pip install -q -e ".[$EXTRAS]"
case ",$EXTRAS," in *,bench,*) pip install -q --no-deps "torchcfm>=1.0" ;; esac
torch_after=$(.venv/bin/python -W ignore -c "import torch; print(torch.__version__)")
if [ "$torch_before" != "$torch_after" ]; then
  echo "error: installing the extras replaced torch $torch_before with $torch_after" >&2
  exit 1
fi
step "done: .venv/bin/flowmatch and .venv/bin/python are ready"
