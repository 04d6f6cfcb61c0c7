"""Data: built-in toy sets, point-cloud files, and every malformed-file error."""

import numpy as np
import pytest
import torch

from flowmatch.data import TOY_SETS, ArrayData, GaussianSource, load_data
from flowmatch.errors import FlowmatchError


@pytest.mark.parametrize("name", TOY_SETS)
def test_toy_sets_shape_scale_and_reproducibility(name):
    a = load_data(name).sample(500, torch.Generator().manual_seed(3)).x
    b = load_data(name).sample(500, torch.Generator().manual_seed(3)).x
    assert a.shape == (500, 2) and a.dtype == torch.float32
    assert torch.equal(a, b)
    assert a.abs().max() < 6 and a.std() > 0.5


def test_moons_moments_match_the_closed_form():
    # upper arc (cos u, sin u), lower arc (1 - cos u, 1/2 - sin u), u ~ U(0, pi), each with
    # probability 1/2, noise N(0, 0.1^2), then shifted by -(1/2, 1/4) and scaled by 2:
    # mean 0; var x = 4 (1/2 + 1/4 + 0.01); var y = 4 (1/2 - 4/pi^2 + (4/pi - 1/2)^2 / 4 + 0.01);
    # cov = 4 (1/8 - 1/pi)
    import math

    x = load_data("moons").sample(400_000, torch.Generator().manual_seed(0)).x.double()
    var_y = 4 * (0.5 - 4 / math.pi**2 + (4 / math.pi - 0.5) ** 2 / 4 + 0.01)
    assert x.mean(0).abs().max() < 0.01
    assert x[:, 0].var().item() == pytest.approx(3.04, rel=0.01)
    assert x[:, 1].var().item() == pytest.approx(var_y, rel=0.01)
    assert (x[:, 0] * x[:, 1]).mean().item() == pytest.approx(4 * (1 / 8 - 1 / math.pi), rel=0.02)  # cov


def test_thinwide_has_its_thin_and_wide_parts():
    from flowmatch.data.toy import toy_sample

    x = toy_sample("thinwide", 40000, np.random.default_rng(0))
    on_ring = np.abs(np.linalg.norm(x - [2.0, 1.5], axis=1) - 1.2) < 0.15
    d = x - [1.0, -3.0]
    u = d @ [2.5, 2.0] / 10.25  # position along the segment (1, -3) -> (3.5, -1)
    on_segment = (np.abs(d @ [2.0, -2.5]) / np.sqrt(10.25) < 0.15) & (u > -0.05) & (u < 1.05)
    assert abs(on_ring.mean() - 0.25) < 0.01 and abs(on_segment.mean() - 0.25) < 0.01
    wide = x[~on_ring & ~on_segment]
    assert np.allclose(wide.mean(0), [-2.0, 0.0], atol=0.05) and np.allclose(wide.std(0), 0.7, atol=0.03)


def test_ringwidths_rings_have_their_radii_widths_and_masses():
    from flowmatch.data import toy_labelled

    x, y = toy_labelled("ringwidths", 40000, np.random.default_rng(0))
    r = np.linalg.norm(x, axis=1)
    for k, width in enumerate([0.15, 0.02, 0.1, 0.03]):
        rk = r[y == k]
        # mass in proportion to the radius k + 1 (1 + 2 + 3 + 4 = 10); the radial spread of an
        # isotropic Gaussian of std w around a circle of radius R >> w is w
        assert abs(len(rk) / len(r) - (k + 1) / 10) < 0.01
        assert abs(rk.mean() - (k + 1)) < 0.02 and abs(rk.std() - width) < 0.1 * width


def test_thinspirals_arms_are_thin_and_opposite():
    from flowmatch.data import toy_labelled

    x, y = toy_labelled("thinspirals", 20000, np.random.default_rng(0))
    # the arms are point reflections of each other: each point's mirror image lies on the other arm
    a, b = torch.from_numpy(x[y == 0][:2000]), torch.from_numpy(-x[y == 1])
    assert torch.cdist(a, b).min(1).values.median() < 0.05
    # an arm at angle r has radius r / 2.5: distance to the noiseless curve is the noise (0.04)
    r = np.sqrt(np.random.default_rng(1).random(200_000)) * 3 * np.pi
    curve = torch.from_numpy(np.stack([-np.cos(r) * r, np.sin(r) * r], 1) / 2.5).float()
    d = torch.cdist(torch.from_numpy(-x[y == 0][:2000]), curve).min(1).values
    assert 0.02 < d.median() < 0.06 and d.max() < 0.3


def test_ringblob_has_a_wide_blob_inside_a_thin_ring():
    from flowmatch.data import toy_labelled

    x, y = toy_labelled("ringblob", 40000, np.random.default_rng(0))
    assert abs(y.mean() - 0.5) < 0.01
    assert np.allclose(x[y == 0].mean(0), 0, atol=0.03) and np.allclose(x[y == 0].std(0), 1.0, atol=0.02)
    r = np.linalg.norm(x[y == 1], axis=1)
    assert abs(r.mean() - 3.2) < 0.01 and abs(r.std() - 0.03) < 0.003


def test_gaussian_source_scale():
    x = GaussianSource((3,), 2.0).sample(20000, torch.Generator().manual_seed(0)).x
    assert x.std(0).sub(2.0).abs().max() < 0.05


def test_point_files(tmp_path):
    pts = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
    np.save(tmp_path / "a.npy", pts)
    np.savez(tmp_path / "b.npz", x=pts)
    np.savetxt(tmp_path / "c.csv", pts, delimiter=",", header="a,b,c", comments="")
    for f in ("a.npy", "b.npz", "c.csv"):
        d = load_data(str(tmp_path / f))
        assert d.shape == (3,)
        np.testing.assert_allclose(d.points.numpy(), pts, rtol=1e-6)
    batch = d.sample(10, torch.Generator().manual_seed(0)).x
    assert batch.shape == (10, 3)


@pytest.mark.parametrize(
    "content,match",
    [
        (np.zeros((0, 2)), "empty"),
        (np.zeros(5), r"shape \(N, D\)"),
        (np.array([[1.0, np.nan], [0, 0]]), "NaN or inf"),
        (np.array([[1.0, np.inf]]), "NaN or inf"),
        (np.array([["a", "b"]]), "not numbers"),
    ],
)
def test_bad_npy_files(tmp_path, content, match):
    np.save(tmp_path / "bad.npy", content)
    with pytest.raises(FlowmatchError, match=match):
        load_data(str(tmp_path / "bad.npy"))


def test_bad_csv_and_missing_files(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "words.csv").write_text("x,y\n1,2\nfoo,3\n")
    (tmp_path / "corrupt.npy").write_bytes(b"not a numpy file")
    with pytest.raises(FlowmatchError, match="empty"):
        load_data(str(tmp_path / "empty.csv"))
    with pytest.raises(FlowmatchError, match="not numbers"):
        load_data(str(tmp_path / "words.csv"))
    with pytest.raises(FlowmatchError, match="cannot read"):
        load_data(str(tmp_path / "corrupt.npy"))
    with pytest.raises(FlowmatchError, match="not found"):
        load_data(str(tmp_path / "nope.npy"))
    with pytest.raises(FlowmatchError, match="unknown data"):
        load_data("mooons")


def test_array_data_rejects_nan_tensors():
    with pytest.raises(FlowmatchError, match="NaN"):
        ArrayData(torch.tensor([[0.0, float("nan")]]))
