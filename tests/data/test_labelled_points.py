"""Labelled and conditioned point clouds: .npz with x, y and c; CSV with a label column."""

import numpy as np
import pytest
import torch

from flowmatch.data import ArrayData, load_data, load_point_set
from flowmatch.errors import FlowmatchError


def test_npz_labels_and_conditions_travel_with_their_points(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2)).astype(np.float32)
    y = np.arange(60) % 3
    c = rng.normal(size=(60, 2))
    np.savez(tmp_path / "d.npz", x=x, y=y, c=c)
    d = load_data(str(tmp_path / "d.npz"))
    assert (d.num_classes, d.cond_dim, d.shape) == (3, 2, (2,))
    b = d.sample(500, torch.Generator().manual_seed(1))
    assert b.y.dtype == torch.int64 and b.c.dtype == torch.float32
    # each drawn point comes with its own label and condition
    rows = [int(np.flatnonzero((x == p).all(1))[0]) for p in b.x.numpy()[:50]]
    assert b.y[:50].tolist() == [int(y[r]) for r in rows]
    assert np.allclose(b.c[:50].numpy(), c[rows].astype(np.float32))
    # a 1-D c is one condition per point
    np.savez(tmp_path / "e.npz", x=x, c=c[:, 0])
    assert load_data(str(tmp_path / "e.npz")).cond_dim == 1


def test_csv_label_column_anywhere(tmp_path):
    (tmp_path / "p.csv").write_text("a,label,b\n0.5,1,2\n1.5,0,3\n2.5,1,4\n")
    s = load_point_set(tmp_path / "p.csv")
    assert s.x.tolist() == [[0.5, 2.0], [1.5, 3.0], [2.5, 4.0]] and s.y.tolist() == [1, 0, 1]
    assert load_data(str(tmp_path / "p.csv")).num_classes == 2
    (tmp_path / "q.csv").write_text("a,b\n0.5,1\n")  # no label column: all columns are the point
    assert load_point_set(tmp_path / "q.csv").y is None


@pytest.mark.parametrize(
    "arrays,match",
    [
        ({"y": np.array([0, 1, 2.5])}, "whole numbers"),
        ({"y": np.array([0, -1, 1])}, "whole numbers"),
        ({"y": np.array([0, 1])}, "one per point"),
        ({"y": np.array(["a", "b", "c"])}, "not numbers"),
        ({"c": np.ones((2, 2))}, "one row per point"),
        ({"c": np.array([[0.0], [np.nan], [1.0]])}, "NaN"),
    ],
)
def test_bad_labels_and_conditions_are_one_line_errors(tmp_path, arrays, match):
    np.savez(tmp_path / "bad.npz", x=np.zeros((3, 2)), **arrays)
    with pytest.raises(FlowmatchError, match=match):
        load_data(str(tmp_path / "bad.npz"))


def test_bad_csv_labels(tmp_path):
    (tmp_path / "a.csv").write_text("x,label\n1,0.5\n")
    (tmp_path / "b.csv").write_text("label,x,label\n1,0,1\n")
    with pytest.raises(FlowmatchError, match="whole numbers"):
        load_data(str(tmp_path / "a.csv"))
    with pytest.raises(FlowmatchError, match="2 columns named 'label'"):
        load_data(str(tmp_path / "b.csv"))


def test_array_data_in_memory():
    d = ArrayData(torch.zeros(4, 2), labels=torch.tensor([0, 0, 3, 1]), conditions=torch.ones(4))
    assert d.num_classes == 4 and d.cond_dim == 1
    assert d.sample(3, torch.Generator().manual_seed(0)).c.shape == (3, 1)


@pytest.mark.parametrize("name", ["moons", "circles", "8gaussians", "spirals", "pinwheel", "ringwidths", "thinspirals", "ringblob"])
def test_toy_labels_name_the_component_of_the_same_points(name):
    from flowmatch.data import TOY_CLASSES, toy_labelled
    from flowmatch.data.toy import toy_sample

    x, y = toy_labelled(name, 4000, np.random.default_rng(0))
    assert np.array_equal(x, toy_sample(name, 4000, np.random.default_rng(0)))
    assert set(np.unique(y)) == set(range(TOY_CLASSES[name]))
    # the components are where their definitions put them
    if name == "moons":  # upper arc centred at (-1, -0.5) after the shift, lower at (1, 0.5)
        assert x[y == 0, 1].mean() > x[y == 1, 1].mean() + 1
    if name == "8gaussians":
        centres = 3.0 * np.stack([np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4)], 1)
        assert (np.linalg.norm(x[:, None] - centres[None], axis=2).argmin(1) == y).mean() > 0.999
    if name == "circles":
        assert np.linalg.norm(x[y == 0], axis=1).mean() > 2 * np.linalg.norm(x[y == 1], axis=1).mean() - 0.5
