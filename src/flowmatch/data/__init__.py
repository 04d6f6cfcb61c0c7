"""Data: 2D toy sets, user point clouds and image sets, drawn as batches from a torch.Generator.

`load_data(spec)` accepts a built-in toy name (see `TOY_SETS`), a path to a point cloud
(.npy, .npz, .csv of shape (N, D); an .npz may add labels `y` and conditions `c`, a CSV a
`label` column) or an image set / folder; token data for discrete flows (`tokens`): the
built-in 'discrete-checkerboard', UTF-8 text (.txt, windows of `seq_len` characters) and integer
tokens (.npy/.npz with `vocab_size`). `GaussianSource` is the default source distribution.
"""

from __future__ import annotations

from pathlib import Path

from flowmatch.data.config import DataConfig
from flowmatch.data.curved import CurvedToyData, ManifoldSource, load_curved, manifold_of, to_file_coordinates
from flowmatch.data.images import ImageData, is_image_spec, load_images
from flowmatch.data.mixture_source import MIXTURE_SOURCE, MixtureSource, fit_mixture_source
from flowmatch.data.points import POINT_SUFFIXES, PointSet, load_point_set
from flowmatch.data.sources import ArrayData, Batch, DataShape, DataSource, GaussianSource, ToyData
from flowmatch.data.tokens import TEXT_SUFFIXES, TOKEN_SETS, DiscreteCheckerboard, TextData, TokenArray, TokenSource, decode, encode, is_token_spec, load_token_array
from flowmatch.data.toy import TOY_CLASSES, TOY_SETS, toy_labelled
from flowmatch.errors import FlowmatchError
from flowmatch.manifolds import CURVED_SETS

ImageShape = DataShape  # its first name, when only image runs were loaded without their data


def load_data(
    spec: str,
    *,
    data_dir: str = "data",
    image_size: int = 0,
    download: bool = False,
    hflip: bool = False,
    split: str = "train",
    manifold: str = "euclidean",
    degrees: bool = False,
    seq_len: int = 128,
    vocab_size: int = 0,
    vocabulary: str | None = None,
) -> DataSource:
    """A built-in toy name, a point-cloud file path, an image set / folder, or token data -> DataSource.

    data_dir, image_size, download, hflip and split apply to image data only (see
    `flowmatch.data.images`); manifold (sphere, torus) and degrees to points on curved spaces
    (see `flowmatch.data.curved`); seq_len and vocabulary (default: the file's own characters) to
    text; vocab_size > 0 reads a .npy/.npz as integer tokens 0..vocab_size-1.
    """
    if manifold != "euclidean":
        return load_curved(spec, manifold, degrees)
    if spec in CURVED_SETS:
        raise FlowmatchError(f"{spec!r} lives on the {CURVED_SETS[spec][0]}: add --manifold {CURVED_SETS[spec][0]}")
    if spec in TOKEN_SETS:
        return DiscreteCheckerboard()
    if Path(spec).suffix in TEXT_SUFFIXES:
        return TextData(spec, seq_len, vocabulary)
    if vocab_size:
        if Path(spec).suffix not in (".npy", ".npz"):
            raise FlowmatchError(f"--vocab-size applies to integer-token .npy/.npz files, not {spec!r}")
        return load_token_array(spec, vocab_size)
    if is_image_spec(spec):
        return load_images(spec, data_dir=data_dir, image_size=image_size, download_files=download, hflip=hflip, split=split)
    if image_size:
        raise FlowmatchError(f"--image-size applies to image data only, not {spec!r}")
    if spec in TOY_SETS:
        return ToyData(spec)
    if Path(spec).suffix in POINT_SUFFIXES or Path(spec).exists():
        points = load_point_set(spec)
        return ArrayData(points.x, name=spec, labels=points.y, conditions=points.c)
    raise FlowmatchError(
        f"unknown data {spec!r}: use one of {', '.join(TOY_SETS + TOKEN_SETS)}, an image set (mnist, fashion-mnist, cifar10, digits), an image folder, a .npy/.npz/.csv file of shape (N, D), or a .txt text file"
    )


__all__ = [
    "Batch",
    "DataConfig",
    "DataSource",
    "GaussianSource",
    "ToyData",
    "ArrayData",
    "CurvedToyData",
    "ManifoldSource",
    "MIXTURE_SOURCE",
    "MixtureSource",
    "fit_mixture_source",
    "load_curved",
    "manifold_of",
    "to_file_coordinates",
    "DataShape",
    "DiscreteCheckerboard",
    "TEXT_SUFFIXES",
    "TOKEN_SETS",
    "TextData",
    "TokenArray",
    "TokenSource",
    "is_token_spec",
    "decode",
    "encode",
    "load_token_array",
    "ImageData",
    "ImageShape",
    "PointSet",
    "load_data",
    "load_point_set",
    "TOY_CLASSES",
    "TOY_SETS",
    "toy_labelled",
]
