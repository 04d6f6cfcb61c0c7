"""Points on curved spaces from files and built-in sets; bad input is one error line."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from flowmatch.data import DataConfig, load_data, to_file_coordinates
from flowmatch.errors import FlowmatchError
from helpers import SHARED


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize("header", ["", "lat,lon\n", "lat,long\n", "latitude,longitude\n", "Latitude, Longitude\n"])
def test_latlon_csv_with_comments_and_headers(tmp_path, header):
    path = _write(tmp_path, "pts.csv", f"# a source line\n# another\n{header}0,0\n90,0\n0,90\n-45,180\n")
    data = load_data(path, manifold="sphere")
    x = data.points.double()
    expected = np.array([[1, 0, 0], [0, 0, 1], [0, 1, 0], [-math.sqrt(0.5), 0, -math.sqrt(0.5)]])
    assert np.allclose(x.numpy(), expected, atol=1e-6)


def test_longitude_first_header_is_read_as_such(tmp_path):
    path = _write(tmp_path, "pts.csv", "lon,lat\n90,0\n0,90\n")
    x = load_data(path, manifold="sphere").points.double().numpy()
    assert np.allclose(x, [[0, 1, 0], [0, 0, 1]], atol=1e-6)


def test_unit_vectors_npy_and_the_round_trip_to_latlon(tmp_path):
    v = np.random.default_rng(0).normal(size=(20, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    np.save(tmp_path / "v.npy", v)
    data = load_data(str(tmp_path / "v.npy"), manifold="sphere")
    latlon = to_file_coordinates(data.points, "sphere")
    np.save(tmp_path / "ll.npy", latlon)
    again = load_data(str(tmp_path / "ll.npy"), manifold="sphere").points.numpy()
    assert np.allclose(again, v, atol=1e-5)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("lat,lon\n91,0\n", r"latitudes must lie in \[-90, 90\]"),
        ("lat,lon\nnan,0\n", "NaN"),
        ("lat,lon\n10,abc\n", "not numbers"),
        ("# only a comment\n", "no points"),
    ],
)
def test_bad_sphere_csv_is_one_error(tmp_path, content, message):
    with pytest.raises(FlowmatchError, match=message):
        load_data(_write(tmp_path, "bad.csv", content), manifold="sphere")


def test_off_sphere_vectors_are_refused(tmp_path):
    np.save(tmp_path / "off.npy", np.array([[1.0, 0, 0], [0.0, 2.0, 0]]))
    with pytest.raises(FlowmatchError, match=r"not on the unit sphere \(row 2 has norm 2\)"):
        load_data(str(tmp_path / "off.npy"), manifold="sphere")


def test_torus_angles_in_radians_and_degrees(tmp_path):
    rad = load_data(_write(tmp_path, "a.csv", "phi,psi\n3.5,-1\n0,6.0\n"), manifold="torus").points.double().numpy()
    assert np.allclose(rad, [[3.5 - 2 * math.pi, -1], [0, 6.0 - 2 * math.pi]], atol=1e-6)
    deg = load_data(_write(tmp_path, "d.csv", "-60,180\n"), manifold="torus", degrees=True).points.double().numpy()
    assert np.allclose(deg, [[-math.pi / 3, -math.pi]], atol=1e-6)
    with pytest.raises(FlowmatchError, match="add --degrees"):
        load_data(_write(tmp_path, "wrong.csv", "-60,180\n"), manifold="torus")


def test_built_in_curved_sets():
    g = torch.Generator().manual_seed(0)
    for name, manifold, dim in (("vmf-mixture", "sphere", 3), ("sphere-checkerboard", "sphere", 3), ("wrapped-normal-mixture", "torus", 2)):
        x = load_data(name, manifold=manifold).sample(100, g).x
        assert x.shape == (100, dim)
    with pytest.raises(FlowmatchError, match="add --manifold sphere"):
        load_data("vmf-mixture")
    with pytest.raises(FlowmatchError, match="--manifold torus"):
        load_data("wrapped-normal-mixture", manifold="sphere")
    with pytest.raises(FlowmatchError, match="flat 2D set.*vmf-mixture, sphere-checkerboard"):
        load_data("moons", manifold="sphere")
    with pytest.raises(FlowmatchError, match="--degrees applies to --manifold torus"):
        DataConfig(data="x.csv", manifold="sphere", degrees=True)


@pytest.mark.skipif(not (SHARED / "data" / "earth" / "flood.csv").is_file(), reason="earth data not at hand")
def test_the_earth_files_load():
    flood = load_data(str(SHARED / "data" / "earth" / "flood.csv"), manifold="sphere")
    fire = load_data(str(SHARED / "data" / "earth" / "fire.csv"), manifold="sphere")
    assert flood.points.shape == (4875, 3) and fire.points.shape == (12809, 3)
