"""Readers of image-set files: MNIST's IDX, CIFAR-10's python batches (through an unpickler
that admits numpy arrays and plain containers only, so a crafted batch file runs no code),
scikit-learn's digits, and folders of class sub-folders."""

from __future__ import annotations

import gzip
import math
import pickle
import warnings
import zlib
from pathlib import Path

import numpy as np

from flowmatch.errors import FlowmatchError
from flowmatch.fileio import open_regular

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
# The only decoders an image folder is read with. Pillow identifies a file by its content, not
# its name, and some of its plugins hand the file to other programs (PostScript to Ghostscript):
# a file that is none of these plain raster formats is refused by name, never decoded.
RASTER_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF")
IDX_NAMES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}
CIFAR_DIR = "cifar-10-batches-py"
CIFAR_BATCHES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
MAX_IDX_BYTES = 2**33  # 8 GiB of pixels: more than any IDX image set
DIGITS_TRAIN = 1500  # the first 1,500 of scikit-learn's 1,797 digits train, the rest test


# -- IDX (MNIST, Fashion-MNIST) --------------------------------------------------------------
def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file (raw or gzip) -> uint8 array of the shape its header declares."""
    p = Path(path)
    try:
        with open_regular(p) as raw:
            fh = gzip.GzipFile(fileobj=raw) if p.suffix == ".gz" else raw
            head = fh.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] != 0x08:
                raise FlowmatchError(f"{p} is not an unsigned-byte IDX file (bad magic number)")
            ndim = head[3]
            sizes = fh.read(4 * ndim)
            if ndim == 0 or len(sizes) < 4 * ndim:
                raise FlowmatchError(f"{p} is truncated: its header declares {ndim} dimensions")
            dims = [int.from_bytes(sizes[4 * i : 4 * i + 4], "big") for i in range(ndim)]
            expected = math.prod(dims)  # Python integers: a header's sizes cannot overflow
            if expected > MAX_IDX_BYTES:
                raise FlowmatchError(f"{p} declares {dims}, {expected:,} bytes of data (more than {MAX_IDX_BYTES:,}): not an image set")
            data = fh.read(expected + 1)  # never more than the header promises (a gzip bomb stops here)
    except (OSError, EOFError, zlib.error) as exc:
        raise FlowmatchError(f"cannot read IDX file {p}: {exc}") from None
    if len(data) != expected:
        raise FlowmatchError(f"{p} is truncated or too long: header says {dims}, file holds {len(data)}{'+' if len(data) > expected else ''} bytes of data")
    return np.frombuffer(data, dtype=np.uint8).reshape(dims).copy()


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
class _ArraysOnly(pickle.Unpickler):
    """An unpickler that builds numpy arrays, dicts, lists, strings and numbers, and nothing else.

    CIFAR-10's batches are pickles; a plain pickle.load would call whatever a crafted file
    names (os.system, say). Only the numpy functions that rebuild an array may be named here.
    """

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # how protocol-2 pickles spell bytes; it only encodes a string
    }

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused to load {module}.{name} (only numpy arrays are allowed)")


def read_cifar_batch(path: Path) -> dict:
    """The dict in one CIFAR-10 python batch file, read without running code from it."""
    with open_regular(path) as fh:
        return _ArraysOnly(fh, encoding="bytes").load()


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
            d = read_cifar_batch(p)
            x = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
            y = np.asarray(d[b"labels"], dtype=np.int64)
        except Exception as exc:  # a damaged, foreign or booby-trapped pickle: name it in one line
            raise FlowmatchError(f"cannot read CIFAR-10 batch {p}: {type(exc).__name__}: {str(exc)[:120]}") from None
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
def _format_name(path: Path) -> str:
    """The format a file's first bytes claim, by Pillow's own signature checks (which only
    compare bytes: no decoder runs), or "unknown"."""
    from PIL import Image

    Image.init()
    with open(path, "rb") as fh:
        prefix = fh.read(16)
    for fmt in Image.ID:
        _, accept = Image.OPEN[fmt]
        try:
            if accept and accept(prefix):
                return fmt
        except Exception:  # a signature check that needs more bytes than we gave it
            continue
    return "unknown"


def open_raster(path: Path):
    """One image of an image folder, decoded by a plain raster decoder only (`RASTER_FORMATS`);
    any other format, a decompression bomb or a damaged file is a one-line error."""
    from PIL import Image, UnidentifiedImageError  # Pillow comes with matplotlib

    if not path.is_file():  # a FIFO or a device named like an image is never opened
        raise FlowmatchError(f"image {path} is not a regular file")
    try:
        with warnings.catch_warnings():  # a decompression bomb is refused, not half-loaded
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=RASTER_FORMATS) as im:
                im.load()
                return im.copy()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise FlowmatchError(f"image {path} is too large to load ({Image.MAX_IMAGE_PIXELS:,} pixels at most)") from None
    except UnidentifiedImageError:
        fmt = _format_name(path)
        what = "not an image Pillow knows" if fmt == "unknown" else f"of format {fmt}"
        raise FlowmatchError(f"image {path} is {what}; image folders hold {', '.join(RASTER_FORMATS)} images only") from None
    except Exception as exc:  # damaged data, a text chunk over Pillow's limit, ...
        raise FlowmatchError(f"cannot read image {path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def load_image_folder(root: Path, size: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """root/<class>/*.png|jpg|... -> (N, C, size, size) uint8, labels, class names (sorted).

    Grey images stay one channel when every image is grey; otherwise all become RGB.
    """
    from PIL import Image

    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    files = [(f, i) for i, c in enumerate(classes) for f in sorted((root / c).iterdir()) if f.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise FlowmatchError(f"image folder {root} holds no .png/.jpg/... images in class sub-folders (expected {root}/<class>/<image>.png; {', '.join(RASTER_FORMATS)})")
    opened = [open_raster(f) for f, _ in files]
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
