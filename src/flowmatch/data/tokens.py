"""Token data for discrete flows: sequences x in {0..V-1}^L drawn as `Batch(x: (B, L) int64, y)`.

- `DiscreteCheckerboard` ('discrete-checkerboard'): two tokens of a 128-value grid, uniform on the
  filled cells of a 4 x 4 checkerboard (the set of flow_matching's 2D discrete example), with its
  exact law (`probabilities`) and the quadrant of each point as its class label (4 classes).
- `TextData`: character-level text from a UTF-8 file; the vocabulary is the file's sorted set of
  characters (or a given one, for validation text), samples are windows of `seq_len` characters
  at uniformly drawn starts.
- `TokenArray`: integer tokens from a .npy (N, L) or an .npz with `x` (N, L) and optional class
  labels `y` (N,), with the vocabulary size given.
Every malformed input is a one-line FlowmatchError.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from flowmatch.data.points import validate_labels
from flowmatch.data.sources import Batch, DataSource, decode
from flowmatch.errors import FlowmatchError

TOKEN_SETS = ("discrete-checkerboard",)
TEXT_SUFFIXES = (".txt",)


def is_token_spec(spec: str, vocab_size: int = 0) -> bool:
    """Whether `load_data(spec, vocab_size=...)` gives token data (checked without reading the data)."""
    return spec in TOKEN_SETS or Path(spec).suffix in TEXT_SUFFIXES or (vocab_size > 0 and Path(spec).suffix in (".npy", ".npz"))


class TokenSource(DataSource):
    """Draws of a mixture path's source p0 (uniform tokens or all-mask) for sequences of `shape` (L,)."""

    def __init__(self, path, shape: tuple[int, ...]):
        self.path, self.shape = path, tuple(shape)

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        return Batch(self.path.sample_source((n, *self.shape), generator))


class DiscreteCheckerboard(DataSource):
    """(x1, x2) in {0..127}^2, uniform on the cells (i, j) of width 32 with i + j even; y: the quadrant 2 [x1 >= 64] + [x2 >= 64]."""

    name = "discrete-checkerboard"
    vocab_size = 128
    num_classes = 4

    def __init__(self):
        self.shape = (2,)

    @staticmethod
    def probabilities() -> Tensor:
        """The exact law: (128, 128) float64, 1/8192 on each of the 8192 filled grid points."""
        cells = torch.arange(128) // 32
        filled = (cells[:, None] + cells[None, :]) % 2 == 0
        return filled.double() / filled.sum()

    @staticmethod
    def quadrant(x: Tensor) -> Tensor:
        """(B, 2) points -> (B,) quadrant labels 0..3."""
        return 2 * (x[:, 0] >= 64).long() + (x[:, 1] >= 64).long()

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        cell = torch.randint(8, (n,), generator=generator)  # the 8 filled cells, equally likely
        i = cell // 2
        j = 2 * (cell % 2) + i % 2
        x = torch.stack([32 * i, 32 * j], dim=1) + torch.randint(32, (n, 2), generator=generator)
        return Batch(x, self.quadrant(x))


def read_text(path: str | Path) -> str:
    """The text of a UTF-8 file (one-line errors for a missing, binary or empty file)."""
    p = Path(path)
    if not p.is_file():
        raise FlowmatchError(f"text file not found: {p}")
    raw = p.read_bytes()
    if b"\x00" in raw:
        raise FlowmatchError(f"{p} is a binary file, not UTF-8 text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FlowmatchError(f"{p} is not UTF-8 text (byte {exc.start} cannot be decoded)") from None
    if not text:
        raise FlowmatchError(f"{p} is empty: text data need at least one window of characters")
    return text


class TextData(DataSource):
    """Windows of `seq_len` characters of a UTF-8 file, as tokens over `vocabulary` (default: the file's characters, sorted)."""

    num_classes = 0

    def __init__(self, path: str | Path, seq_len: int, vocabulary: str | None = None):
        text = read_text(path)
        self.name = str(path)
        self.vocabulary = vocabulary if vocabulary is not None else "".join(sorted(set(text)))
        if len(self.vocabulary) < 2:
            raise FlowmatchError(f"{path} uses fewer than 2 distinct characters: nothing to model")
        self.tokens = encode(text, self.vocabulary, str(path))
        if int(seq_len) < 1 or int(seq_len) > len(self.tokens):
            raise FlowmatchError(f"seq-len {seq_len} is longer than the text of {path} ({len(self.tokens)} characters); use a shorter --seq-len")
        self.seq_len, self.vocab_size, self.shape = int(seq_len), len(self.vocabulary), (int(seq_len),)

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        starts = torch.randint(len(self.tokens) - self.seq_len + 1, (n,), generator=generator)
        return Batch(self.tokens[starts[:, None] + torch.arange(self.seq_len)])

    def windows(self) -> Tensor:
        """The text cut into consecutive non-overlapping windows: (N, seq_len) (the tail shorter than a window is left out)."""
        n = len(self.tokens) // self.seq_len
        return self.tokens[: n * self.seq_len].reshape(n, self.seq_len)

    def decode(self, x: Tensor) -> list[str]:
        return decode(x, self.vocabulary)


def encode(text: str, vocabulary: str, name: str = "text") -> Tensor:
    """Characters -> (N,) int64 tokens, their indices in `vocabulary`; a character outside it is an error."""
    index = {ch: i for i, ch in enumerate(vocabulary)}
    unknown = sorted(set(text) - index.keys())
    if unknown:
        raise FlowmatchError(f"{name} has characters outside the vocabulary of the training text, e.g. {unknown[0]!r}")
    return torch.tensor([index[ch] for ch in text], dtype=torch.long)


class TokenArray(DataSource):
    """Rows of an integer array (N, L) of tokens 0..vocab_size-1, drawn uniformly with their labels (N,) when given."""

    def __init__(self, tokens: np.ndarray, vocab_size: int, name: str = "tokens", labels: np.ndarray | None = None):
        if tokens.ndim != 2 or tokens.shape[0] == 0 or tokens.shape[1] == 0:
            raise FlowmatchError(f"{name}: token arrays must be (N, L) with N, L >= 1, got shape {tokens.shape}")
        if not np.issubdtype(tokens.dtype, np.integer):
            raise FlowmatchError(f"{name}: token arrays must hold integers, got {tokens.dtype}")
        if int(vocab_size) < 2:
            raise FlowmatchError(f"{name}: integer tokens need --vocab-size V >= 2")
        if int(tokens.min()) < 0 or int(tokens.max()) >= vocab_size:
            bad = int(tokens.max()) if int(tokens.max()) >= vocab_size else int(tokens.min())
            raise FlowmatchError(f"{name}: token {bad} is outside the vocabulary 0..{vocab_size - 1} (--vocab-size {vocab_size})")
        self.name, self.vocab_size = name, int(vocab_size)
        self.tokens = torch.from_numpy(tokens.astype(np.int64))
        self.shape = (tokens.shape[1],)
        self.labels = None if labels is None else torch.from_numpy(validate_labels(labels, len(tokens), name))
        self.num_classes = 0 if self.labels is None else int(self.labels.max()) + 1

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        idx = torch.randint(len(self.tokens), (n,), generator=generator)
        return Batch(self.tokens[idx], None if self.labels is None else self.labels[idx])


def load_token_array(path: str | Path, vocab_size: int) -> TokenArray:
    """A .npy (N, L) or .npz (x, optional y) of integer tokens (no pickles)."""
    p = Path(path)
    if not p.is_file():
        raise FlowmatchError(f"data file not found: {p}")
    labels = None
    try:
        if p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                if "x" not in z.files:
                    raise FlowmatchError(f"{p}: a token .npz holds the tokens as `x` (and labels as `y`)")
                tokens, labels = z["x"], (z["y"] if "y" in z.files else None)
        else:
            tokens = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise FlowmatchError(f"cannot read {p} as a numpy array: {str(exc).splitlines()[0]}") from None
    return TokenArray(tokens, vocab_size, str(p), labels)
