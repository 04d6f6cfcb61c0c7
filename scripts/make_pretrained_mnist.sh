#!/usr/bin/env bash
# Train and export pretrained:mnist, the packaged class-conditional MNIST model
# (src/flowmatch/pretrained/mnist/): a MeanFlow U-Net that samples in one step.
#
#   bash scripts/make_pretrained_mnist.sh DATA_DIR [WORK_DIR]     (a GPU; default runs/pretrained-mnist)
#
# DATA_DIR holds the MNIST IDX files (the packaged model was trained on a subset of 7,000 train
# digits). The shipped model was trained this way on one H100 in 6 minutes (3,516 steps of
# batch 256; the --max-minutes budget ends it); on a CPU the same command runs, far slower.
# Scored by benchmarks/images_peers.py's classifier (docs/benchmarks/index.md, "Pretrained models"):
# 97.3% of one-step samples guided at W = 2 are the requested digit.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:?usage: make_pretrained_mnist.sh DATA_DIR [WORK_DIR]}
WORK=${2:-runs/pretrained-mnist}
FM=${FLOWMATCH:-.venv/bin/flowmatch}
DEST=src/flowmatch/pretrained/mnist
TRAIN="flowmatch train --data mnist --data-dir $DATA --model unet --channels 32 --channel-mults 1,2 --patch-size 2 --num-res-blocks 1 --batch-size 256 --lr 2e-3 --warmup-steps 500 --ema-decay 0.999 --objective meanflow --mean-flow-fraction 0.25 --steps 30000 --max-minutes 6 --save-every 5000 --log-every 500 --no-progress --out $WORK/run"
EXPORT="flowmatch export $WORK/run --out $WORK/export --name pretrained:mnist --steps 1 --guidance 2"
if [ -e "$WORK" ]; then echo "error: $WORK exists; give another WORK_DIR (nothing is replaced)" >&2; exit 2; fi
$FM ${TRAIN#flowmatch }
$FM ${EXPORT#flowmatch } --description "A class-conditional MNIST flow that samples in one step: a MeanFlow U-Net (average velocities over intervals), guided at W = 2." \
  --notes scripts/pretrained_mnist_notes.md --command "bash scripts/make_pretrained_mnist.sh DATA_DIR $WORK   # which runs:
$TRAIN
$EXPORT"
rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
cp -r "$WORK/export" "$DEST"
echo "wrote $DEST:"; ls -l "$DEST"
