#!/usr/bin/env bash
# Train and export pretrained:moons, the packaged moons model (src/flowmatch/pretrained/moons/).
#
#   bash scripts/make_pretrained_moons.sh [WORK_DIR]      (default runs/pretrained-moons)
#
# The few-step recipe with seed 0 and the options the packaged weights were made with (an
# OT-coupled base of 8,000 steps without Fourier features, then 4,000 steps of one-step
# distillation with half of each batch at t = 0, so that it samples in one step and also with
# more), on one thread: the same torch build gives the same weights.
# The export measures W2 at 1, 2 and 8 Euler steps against the noise floor (2,000 samples,
# median over 5 fresh reference draws) and writes the model card. Then the package's folder is
# replaced by the new export (git shows what changed). Takes a few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-runs/pretrained-moons}
FM=${FLOWMATCH:-.venv/bin/flowmatch}
DEST=src/flowmatch/pretrained/moons
export OMP_NUM_THREADS=1
TRAIN="flowmatch train --data moons --recipe few-step --steps 8000 --fourier-features 0 --seed 0 --out $WORK/run --no-progress"
EXPORT="flowmatch export $WORK/run --out $WORK/export --name pretrained:moons --eval-steps 1,2,8 --n-eval 2000 --eval-draws 5"
if [ -e "$WORK" ]; then echo "error: $WORK exists; give another WORK_DIR (nothing is replaced)" >&2; exit 2; fi
$FM ${TRAIN#flowmatch }
$FM ${EXPORT#flowmatch } --description "A one-step flow from a 2D Gaussian to the two moons (the few-step recipe): one network evaluation per sample, and as good or better with more Euler steps." \
  --command "bash scripts/make_pretrained_moons.sh $WORK   # which runs:
$TRAIN
$EXPORT"
rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
cp -r "$WORK/export" "$DEST"
echo "wrote $DEST:"; ls -l "$DEST"
