"""Labelled image data sets: MNIST, Fashion-MNIST, CIFAR-10, scikit-learn digits, image folders.

Every set becomes an `ImageData`: uint8 images (N, C, H, W) and int64 labels (N,), drawn with
replacement and scaled to [-1, 1] per batch (x = u / 127.5 - 1), with optional horizontal flips.
Files are read from `data_dir` (or `data_dir/<name>`); `download=True` fetches the original
files from their public mirrors and checks their MD5 sums first.

References: LeCun et al. (1998) MNIST and its IDX format; Xiao et al. (2017) Fashion-MNIST;
Krizhevsky (2009) CIFAR-10 python batches; scikit-learn's `load_digits` (UCI optical digits).
"""

from __future__ import annotations

import gzip
import hashlib
import pickle
import shutil
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from flowmatch.data.sources import Batch
from flowmatch.errors import FlowmatchError

IMAGE_SETS = ("mnist", "fashion-mnist", "cifar10", "digits")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
SPLITS = ("train", "test")
MIN_SIZE, MAX_SIZE = 4, 512
FOLDER_DEFAULT_SIZE = 32


@dataclass(frozen=True)
class Remote:
    """One file of a data set: its name, the mirrors that serve it, its MD5 sum."""

    name: str
    md5: str
    mirrors: tuple[str, ...]


_MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/")
_FASHION_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)
IDX_NAMES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}
REMOTES: dict[str, tuple[Remote, ...]] = {
    "mnist": (
        Remote("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", _MNIST_MIRRORS),
        Remote("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", _MNIST_MIRRORS),
        Remote("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", _MNIST_MIRRORS),
        Remote("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", _MNIST_MIRRORS),
    ),
    "fashion-mnist": (
        Remote("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", _FASHION_MIRRORS),
        Remote("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe", _FASHION_MIRRORS),
        Remote("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79", _FASHION_MIRRORS),
        Remote("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310", _FASHION_MIRRORS),
    ),
    "cifar10": (Remote("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a", ("https://www.cs.toronto.edu/~kriz/",)),),
}
CIFAR_DIR = "cifar-10-batches-py"
CIFAR_BATCHES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
DIGITS_TRAIN = 1500  # the first 1,500 of scikit-learn's 1,797 digits train, the rest test


class ImageData:
    """A finite labelled image set; `sample(n, g)` draws with replacement -> Batch(x, y).

    images: (N, C, H, W) uint8; labels: (N,) int64 in [0, num_classes); x in [-1, 1].
    """

    def __init__(self, images: np.ndarray | Tensor, labels: np.ndarray | Tensor, num_classes: int, name: str = "images", hflip: bool = False, classes: list[str] | None = None):
        self.images = torch.as_tensor(np.ascontiguousarray(images) if isinstance(images, np.ndarray) else images)
        self.labels = torch.as_tensor(np.asarray(labels, dtype=np.int64) if isinstance(labels, np.ndarray) else labels).long()
        if self.images.ndim != 4 or self.images.dtype != torch.uint8:
            raise FlowmatchError(f"{name}: images must be uint8 of shape (N, C, H, W), got {self.images.dtype} {tuple(self.images.shape)}")
        if len(self.images) == 0 or len(self.images) != len(self.labels):
            raise FlowmatchError(f"{name}: {len(self.images)} images but {len(self.labels)} labels")
        self.name, self.hflip, self.num_classes = name, hflip, int(num_classes)
        self.shape = tuple(self.images.shape[1:])
        self.classes = classes or [str(i) for i in range(self.num_classes)]

    def __len__(self) -> int:
        return len(self.images)

    def sample(self, n: int, generator: torch.Generator):
        idx = torch.randint(len(self.images), (n,), generator=generator)
        x = self.images[idx].float() / 127.5 - 1.0
        if self.hflip:
            flip = torch.rand(n, generator=generator) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        return Batch(x, self.labels[idx])

    def all(self) -> tuple[Tensor, Tensor]:
        """Every image in [-1, 1] (N, C, H, W) float32 and its label (N,)."""
        return self.images.float() / 127.5 - 1.0, self.labels


# -- sizes -----------------------------------------------------------------------------------
def check_image_size(size: int) -> int:
    if not MIN_SIZE <= int(size) <= MAX_SIZE:
        raise FlowmatchError(f"--image-size must be between {MIN_SIZE} and {MAX_SIZE} pixels, got {size}")
    return int(size)


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """(N, C, h, w) uint8 -> (N, C, size, size) uint8: bilinear (antialiased) resize of the
    shorter side to `size`, then a centre crop."""
    n, c, h, w = images.shape
    if h == size and w == size:
        return images
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    x = torch.from_numpy(images).float()
    x = torch.nn.functional.interpolate(x, size=(nh, nw), mode="bilinear", antialias=True, align_corners=False)
    top, left = (nh - size) // 2, (nw - size) // 2
    x = x[:, :, top : top + size, left : left + size]
    return x.round().clamp(0, 255).to(torch.uint8).numpy()


# -- IDX (MNIST, Fashion-MNIST) --------------------------------------------------------------
def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file (raw or gzip) -> uint8 array of the shape its header declares."""
    p = Path(path)
    opener = gzip.open if p.suffix == ".gz" else open
    try:
        with opener(p, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as exc:
        raise FlowmatchError(f"cannot read IDX file {p}: {exc}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise FlowmatchError(f"{p} is not an unsigned-byte IDX file (bad magic number)")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    if len(data) - offset != int(np.prod(dims)):
        raise FlowmatchError(f"{p} is truncated: header says {dims}, file holds {len(data) - offset} bytes of data")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims).copy()


def _find(data_dir: Path, name: str, stem: str) -> Path | None:
    """stem or stem.gz in data_dir or data_dir/<name> (also torchvision's <Name>/raw layout)."""
    folders = [data_dir, data_dir / name, data_dir / name.upper().replace("-", ""), data_dir / "MNIST" / "raw", data_dir / "FashionMNIST" / "raw"]
    for folder in folders:
        for candidate in (folder / stem, folder / (stem + ".gz")):
            if candidate.is_file():
                return candidate
    return None


def _missing(name: str, data_dir: Path, files: list[str]) -> FlowmatchError:
    return FlowmatchError(f"{name} files not found in {data_dir}: put {', '.join(files)} there (or pass --download with a network)")


def load_idx_set(name: str, data_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    stems = [IDX_NAMES[(split, "images")], IDX_NAMES[(split, "labels")]]
    paths = [_find(data_dir, name, s) for s in stems]
    if None in paths:
        raise _missing(name, data_dir, [s + ".gz" for s in stems])
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise FlowmatchError(f"{name} files in {data_dir} disagree: images {images.shape}, labels {labels.shape}")
    return images[:, None], labels.astype(np.int64)


# -- CIFAR-10 python batches -----------------------------------------------------------------
def load_cifar10(data_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    folder = next((f for f in (data_dir, data_dir / CIFAR_DIR, data_dir / "cifar10" / CIFAR_DIR, data_dir / "cifar10") if (f / CIFAR_BATCHES[split][0]).is_file()), None)
    if folder is None:
        raise _missing("cifar10", data_dir, [f"{CIFAR_DIR}/{b}" for b in CIFAR_BATCHES[split]] + ["(or cifar-10-python.tar.gz, extracted)"])
    xs, ys = [], []
    for batch in CIFAR_BATCHES[split]:
        p = folder / batch
        if not p.is_file():
            raise _missing("cifar10", data_dir, [f"{CIFAR_DIR}/{batch}"])
        try:
            with open(p, "rb") as fh:
                d = pickle.load(fh, encoding="bytes")
            x = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
            y = np.asarray(d[b"labels"], dtype=np.int64)
        except Exception as exc:  # a damaged or foreign pickle: name it in one line
            raise FlowmatchError(f"cannot read CIFAR-10 batch {p}: {type(exc).__name__}") from None
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs), np.concatenate(ys)


# -- scikit-learn digits ---------------------------------------------------------------------
def load_digits_set(split: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits  # ships with scikit-learn: no files, no network

    d = load_digits()
    images = np.round(d.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    sl = slice(0, DIGITS_TRAIN) if split == "train" else slice(DIGITS_TRAIN, None)
    return images[sl], d.target[sl].astype(np.int64)


# -- image folders ---------------------------------------------------------------------------
def load_image_folder(root: Path, size: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """root/<class>/*.png|jpg -> (N, C, size, size) uint8, labels, class names (sorted).

    Grey images stay one channel when every image is grey; otherwise all become RGB.
    """
    from PIL import Image, UnidentifiedImageError  # Pillow comes with matplotlib

    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    files = [(f, i) for i, c in enumerate(classes) for f in sorted((root / c).iterdir()) if f.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise FlowmatchError(f"image folder {root} holds no .png/.jpg images in class sub-folders (expected {root}/<class>/<image>.png)")
    opened = []
    for f, _ in files:
        try:
            with Image.open(f) as im:
                im.load()
                opened.append(im.copy())
        except (UnidentifiedImageError, OSError):
            raise FlowmatchError(f"cannot read image {f}") from None
    grey = all(im.mode in ("L", "1", "I;16", "I") for im in opened)
    arrays = []
    for im in opened:
        im = im.convert("L" if grey else "RGB")
        w, h = im.size
        scale = size / min(w, h)
        im = im.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BILINEAR)
        w, h = im.size
        left, top = (w - size) // 2, (h - size) // 2
        a = np.asarray(im.crop((left, top, left + size, top + size)), dtype=np.uint8)
        arrays.append(a[None] if grey else a.transpose(2, 0, 1))
    return np.stack(arrays), np.array([i for _, i in files], dtype=np.int64), classes


# -- downloads -------------------------------------------------------------------------------
def md5sum(path: str | Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_md5(path: str | Path, md5: str) -> None:
    """Raise a one-line error unless the file's MD5 is `md5`."""
    got = md5sum(path)
    if got != md5:
        raise FlowmatchError(f"checksum mismatch for {Path(path).name}: expected MD5 {md5}, got {got}; delete it and download again")


def fetch(remote: Remote, dest_dir: Path, timeout: float = 30.0) -> Path:
    """Download one file (trying each mirror) into dest_dir, verifying its MD5; keep a good copy."""
    dest = dest_dir / remote.name
    if dest.is_file() and md5sum(dest) == remote.md5:
        return dest
    dest_dir.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    reasons = []
    for mirror in remote.mirrors:
        url = mirror + remote.name
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp, open(tmp, "wb") as out:
                shutil.copyfileobj(resp, out)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reasons.append(f"{url}: {getattr(exc, 'reason', exc)}")
            tmp.unlink(missing_ok=True)
            continue
        try:
            verify_md5(tmp, remote.md5)
        except FlowmatchError:
            tmp.unlink(missing_ok=True)
            raise
        tmp.replace(dest)
        return dest
    raise FlowmatchError(f"cannot download {remote.name} ({'; '.join(reasons)[:300]}); without a network put {remote.name} in {dest_dir}")


def download(name: str, data_dir: str | Path) -> Path:
    """Fetch a named set's original files into data_dir/<name> (CIFAR-10 is extracted there).

    Without a network: one error line naming the files to place in that folder by hand.
    """
    if name not in REMOTES:
        raise FlowmatchError(f"--download is available for {', '.join(REMOTES)}, not {name!r}")
    dest = Path(data_dir) / name
    try:
        paths = [fetch(r, dest) for r in REMOTES[name]]
    except FlowmatchError as exc:
        if "checksum" in str(exc):
            raise
        files = ", ".join(r.name for r in REMOTES[name])
        raise FlowmatchError(f"cannot download {name} (no network?): put {files} in {dest} and run again without --download") from None
    if name == "cifar10":
        with tarfile.open(paths[0], "r:gz") as tar:
            tar.extractall(dest, filter="data")
    return dest


# -- the entry point -------------------------------------------------------------------------
def is_image_spec(spec: str) -> bool:
    return spec in IMAGE_SETS or Path(spec).is_dir()


def load_images(spec: str, data_dir: str | Path = "data", image_size: int = 0, download_files: bool = False, hflip: bool = False, split: str = "train") -> ImageData:
    """A named image set or an image folder -> ImageData (resized to image_size when > 0)."""
    if split not in SPLITS:
        raise FlowmatchError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if image_size:
        check_image_size(image_size)
    data_dir = Path(data_dir)
    classes = None
    if spec in ("mnist", "fashion-mnist", "cifar10"):
        if download_files:
            data_dir = download(spec, data_dir)
        elif not data_dir.is_dir():
            raise FlowmatchError(f"--data-dir {data_dir} does not exist (put the {spec} files there, or pass --download)")
        images, labels = load_cifar10(data_dir, split) if spec == "cifar10" else load_idx_set(spec, data_dir, split)
        num_classes = 10
    elif spec == "digits":
        images, labels = load_digits_set(split)
        num_classes = 10
    elif Path(spec).is_dir():
        images, labels, classes = load_image_folder(Path(spec), image_size or FOLDER_DEFAULT_SIZE)
        num_classes = len(classes)
    else:
        raise FlowmatchError(f"unknown image data {spec!r}: use one of {', '.join(IMAGE_SETS)} or a folder of class sub-folders")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise FlowmatchError(f"{spec}: labels must be in 0..{num_classes - 1}, found {labels.min()}..{labels.max()}")
    if image_size:
        images = resize_images(images, image_size)
    return ImageData(images, labels, num_classes, name=spec, hflip=hflip, classes=classes)


class ImageShape:
    """Shape and class count of a trained run's image data, without reading its files again."""

    def __init__(self, shape: tuple[int, ...], num_classes: int, name: str = "images"):
        self.shape, self.num_classes, self.name = tuple(shape), int(num_classes), name

    def sample(self, n: int, generator: torch.Generator):
        raise FlowmatchError(f"the images of {self.name!r} are not loaded here; use load_data({self.name!r}, data_dir=...)")


__all__ = ["ImageData", "ImageShape", "IMAGE_SETS", "load_images", "read_idx", "download", "fetch", "verify_md5", "md5sum", "Remote", "REMOTES", "is_image_spec", "resize_images"]
