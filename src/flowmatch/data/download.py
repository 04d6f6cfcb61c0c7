"""Downloading the original files of MNIST, Fashion-MNIST and CIFAR-10, with MD5 checks.

Nothing here runs unless `--download` is given; without a network the error names the files
to put in the data folder by hand.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from flowmatch.errors import FlowmatchError


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
