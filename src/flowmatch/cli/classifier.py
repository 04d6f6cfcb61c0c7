"""`flowmatch classifier`: train the image classifier whose features give `eval --metrics fd`."""

from __future__ import annotations

import argparse
import json
import time

NAME = "classifier"
HELP = "train the image classifier for the 'fd' metric"
DESCRIPTION = "Train a small CNN on a labelled image data set's training split and save it (tensors only) for 'flowmatch eval --metrics fd --classifier FILE.pt'."


def add_arguments(p: argparse.ArgumentParser) -> None:
    from flowmatch.cli.common import number

    p.add_argument("--data", required=True, help="a labelled image data set (mnist, fashion-mnist, cifar10, digits) or image folder")
    p.add_argument("--data-dir", default="data", help="folder with the data set's original files")
    p.add_argument("--download", action="store_true", help="fetch the data set into --data-dir first (checksums verified; needs a network)")
    p.add_argument("--out", required=True, metavar="FILE.pt", help="the classifier file to write (must not exist)")
    p.add_argument("--epochs", type=number(int, min=1, max=1000), default=6)
    p.add_argument("--seed", type=number(int, min=0), default=0)


def run(args: argparse.Namespace) -> int:

    from flowmatch.data import load_data
    from flowmatch.errors import FlowmatchError
    from flowmatch.evaluation import save_classifier
    from flowmatch.metrics import classify, train_classifier
    from flowmatch.runs.outputs import check_output

    out = check_output(args.out, "--out", suffixes=(".pt",))
    if out.exists():
        raise FlowmatchError(f"--out {out} exists; a classifier is written to a new file")
    data = load_data(args.data, data_dir=args.data_dir, download=args.download)
    if len(data.shape) != 3 or not data.num_classes:
        raise FlowmatchError(f"a classifier needs labelled image data; {args.data!r} has samples of shape {tuple(data.shape)} and {data.num_classes} classes")
    images, labels = data.all()
    start = time.perf_counter()
    model = train_classifier(images, labels, data.num_classes, epochs=args.epochs, seed=args.seed)
    seconds = time.perf_counter() - start
    test_images, test_labels = load_data(args.data, data_dir=args.data_dir, split="test").all()
    accuracy = float((classify(test_images, model) == test_labels).float().mean())
    save_classifier(model, out)
    print(json.dumps({"out": str(out), "train": len(images), "test": len(test_images), "test_accuracy": round(accuracy, 4), "seconds": round(seconds, 2)}))
    return 0
