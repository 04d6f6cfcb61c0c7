"""Token data: the discrete checkerboard and its exact law, text windows, integer-token arrays, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flowmatch.data import DiscreteCheckerboard, TextData, load_data
from flowmatch.errors import FlowmatchError


def test_checkerboard_draws_follow_its_exact_law():
    data = load_data("discrete-checkerboard")
    assert isinstance(data, DiscreteCheckerboard) and data.shape == (2,) and data.vocab_size == 128 and data.num_classes == 4
    p = data.probabilities()
    assert float(p.sum()) == pytest.approx(1.0) and int((p > 0).sum()) == 8192
    batch = data.sample(200_000, torch.Generator().manual_seed(0))
    assert batch.x.dtype == torch.long and int(batch.x.min()) >= 0 and int(batch.x.max()) <= 127
    assert bool((p[batch.x[:, 0], batch.x[:, 1]] > 0).all())  # only filled cells
    cells = torch.bincount((batch.x[:, 0] // 32) * 4 + batch.x[:, 1] // 32, minlength=16).double() / 200_000
    expect = p.reshape(4, 32, 4, 32).sum((1, 3)).reshape(-1)
    assert torch.allclose(cells, expect, atol=0.005)
    assert torch.equal(batch.y, 2 * (batch.x[:, 0] >= 64).long() + (batch.x[:, 1] >= 64).long())
    assert torch.allclose(torch.bincount(batch.y).double() / 200_000, torch.full((4,), 0.25, dtype=torch.float64), atol=0.005)


def test_text_windows_and_vocabulary(tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("abcabd\né", encoding="utf-8")
    data = load_data(str(f), seq_len=3)
    assert isinstance(data, TextData) and data.vocabulary == "\nabcdé" and data.vocab_size == 6 and data.shape == (3,)
    batch = data.sample(500, torch.Generator().manual_seed(0))
    text = "abcabd\né"
    assert all(s in text for s in data.decode(batch.x))
    assert data.decode(data.windows()) == ["abc", "abd"]
    val = tmp_path / "v.txt"
    val.write_text("cab", encoding="utf-8")
    assert load_data(str(val), seq_len=2, vocabulary=data.vocabulary).tokens.tolist() == [3, 1, 2]


def test_token_arrays(tmp_path):
    f = tmp_path / "tok.npy"
    np.save(f, np.array([[0, 1, 2], [3, 3, 0]]))
    data = load_data(str(f), vocab_size=4)
    assert data.shape == (3,) and data.vocab_size == 4 and data.num_classes == 0
    assert set(map(tuple, data.sample(50, torch.Generator()).x.tolist())) <= {(0, 1, 2), (3, 3, 0)}
    z = tmp_path / "tok.npz"
    np.savez(z, x=np.array([[0, 1], [1, 0]]), y=np.array([0, 1]))
    labelled = load_data(str(z), vocab_size=2)
    assert labelled.num_classes == 2
    b = labelled.sample(20, torch.Generator())
    assert torch.equal(b.y, b.x[:, 0])


@pytest.mark.parametrize(
    "content,kwargs,message",
    [
        (b"\x00\x01\x02binary", {}, "binary"),
        (b"\xff\xfe\xfa", {}, "not UTF-8"),
        (b"", {}, "empty"),
        (b"abc", {"seq_len": 10}, "longer than the text"),
        (b"aaaa", {}, "fewer than 2"),
    ],
)
def test_bad_text(tmp_path, content, kwargs, message):
    f = tmp_path / "bad.txt"
    f.write_bytes(content)
    with pytest.raises(FlowmatchError, match=message):
        load_data(str(f), **{"seq_len": 2, **kwargs})


def test_bad_tokens(tmp_path):
    f = tmp_path / "tok.npy"
    np.save(f, np.array([[0, 5]]))
    with pytest.raises(FlowmatchError, match="token 5 is outside the vocabulary 0..3"):
        load_data(str(f), vocab_size=4)
    np.save(f, np.array([[0.5, 1.0]]))
    with pytest.raises(FlowmatchError, match="integers"):
        load_data(str(f), vocab_size=4)
    np.save(f, np.array([0, 1]))
    with pytest.raises(FlowmatchError, match=r"\(N, L\)"):
        load_data(str(f), vocab_size=4)
    with pytest.raises(FlowmatchError, match="--vocab-size applies"):
        load_data("moons", vocab_size=4)
    v = tmp_path / "v.txt"
    v.write_text("xyz", encoding="utf-8")
    with pytest.raises(FlowmatchError, match="outside the vocabulary"):
        load_data(str(v), seq_len=2, vocabulary="ab")
