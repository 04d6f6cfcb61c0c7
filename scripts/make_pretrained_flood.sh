#!/usr/bin/env bash
# Train and export pretrained:flood, the packaged flow on the sphere (src/flowmatch/pretrained/flood/).
#
#   bash scripts/make_pretrained_flood.sh FLOOD_CSV [WORK_DIR]      (default runs/pretrained-flood)
#
# FLOOD_CSV: the Flood events (latitude,longitude in degrees, 4,875 rows) as distributed with
# the Riemannian score-based models' code (oxcsml/riemannian-score-sde, data/flood.csv).
# The earth recipe of benchmarks/earth.py on all the events, with a fixed step count instead of a
# time budget and a validation split, so that the same torch build gives the same weights: a flow
# from a von Mises-Fisher mixture of 256 components fitted to the events (the size four of the
# benchmark's five validation splits chose), each event paired with a draw from its own
# component, a 256 x 4 MLP with 128 Fourier features (scale 20), 8,000 steps (three of the five
# Flood seeds had their best validation checkpoint at 5,500 to 7,500 steps), seed 0, one thread.
# Then the package's folder is replaced by the new export (git shows what changed). A few minutes
# on one core.
set -euo pipefail
if [ $# -lt 1 ] || [ ! -f "$1" ]; then echo "error: give the Flood events' CSV file as the first argument" >&2; exit 2; fi
DATA=$(realpath "$1")
cd "$(dirname "$0")/.."
WORK=${2:-runs/pretrained-flood}
FM=$(realpath "${FLOWMATCH:-.venv/bin/flowmatch}")
DEST=$(realpath -m src/flowmatch/pretrained/flood)
export OMP_NUM_THREADS=1
# the commands run inside WORK on its own copy of the events, so the card names no outside path
TRAIN="flowmatch train --data flood.csv --manifold sphere --source mixture --source-components 256 --hidden 256 --depth 4 --fourier-features 128 --fourier-scale 20 --lr 2e-3 --steps 8000 --seed 0 --out run --no-progress"
EXPORT="flowmatch export run --out export --name pretrained:flood"
if [ -e "$WORK" ]; then echo "error: $WORK exists; give another WORK_DIR (nothing is replaced)" >&2; exit 2; fi
mkdir -p "$WORK"
cp "$DATA" "$WORK/flood.csv"
cd "$WORK"
$FM ${TRAIN#flowmatch }
$FM ${EXPORT#flowmatch } --description "A flow on the sphere to the Flood events of the Dartmouth Flood Observatory archive (4,875 floods, latitude and longitude), from a von Mises-Fisher mixture fitted to them: samples in degrees, log-densities in nats per point." \
  --command "bash scripts/make_pretrained_flood.sh FLOOD_CSV   # which runs, in its work folder:
$TRAIN
$EXPORT"
rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
cp -r export "$DEST"
echo "wrote $DEST:"; ls -l "$DEST"
