"""Image loaders: IDX (gzip and raw), CIFAR-10 pickles, image folders, digits, the real subset,
flips, resizing, and one-line errors (downloads: test_download.py)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from flowmatch.data import images as im
from flowmatch.data import load_data
from flowmatch.errors import FlowmatchError
from helpers import SHARED_MNIST, make_cifar_dir, make_idx_dir, write_idx


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_idx_loader_reads_exact_pixels_and_labels(tmp_path, gz, name):
    images, labels = make_idx_dir(tmp_path, n=30, gz=gz)
    data = load_data(name, data_dir=str(tmp_path))
    assert data.shape == (1, 28, 28) and data.num_classes == 10 and len(data) == 30
    x, y = data.all()
    np.testing.assert_allclose(x[:, 0].numpy(), images / 127.5 - 1.0, atol=1e-6)
    assert y.tolist() == labels.tolist()
    b = data.sample(7, torch.Generator().manual_seed(0))
    assert b.x.shape == (7, 1, 28, 28) and b.y.shape == (7,) and b.y.dtype == torch.long
    assert b.x.min() >= -1 and b.x.max() <= 1


def test_idx_in_torchvision_layout_and_bad_magic(tmp_path):
    make_idx_dir(tmp_path / "MNIST" / "raw", n=10)
    assert len(load_data("mnist", data_dir=str(tmp_path))) == 10
    bad = tmp_path / "bad-idx"
    bad.write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(FlowmatchError, match="magic"):
        im.read_idx(bad)
    short = write_idx(tmp_path / "short", np.zeros((3, 4, 4)), gz=False)
    short.write_bytes(short.read_bytes()[:-5])
    with pytest.raises(FlowmatchError, match="truncated"):
        im.read_idx(short)


def test_cifar_pickle_loader_channel_layout(tmp_path):
    folder = make_cifar_dir(tmp_path, per_batch=4)
    data = load_data("cifar10", data_dir=str(tmp_path))
    assert data.shape == (3, 32, 32) and len(data) == 20 and data.num_classes == 10
    with open(folder / "data_batch_1", "rb") as fh:
        d = pickle.load(fh, encoding="bytes")
    x, y = data.all()
    # row layout: 1024 red, then 1024 green, then 1024 blue values, each row-major 32x32
    c, h, w = 1, 5, 7
    assert x[0, c, h, w].item() == pytest.approx(d[b"data"][0, c * 1024 + h * 32 + w] / 127.5 - 1)
    assert y[:4].tolist() == d[b"labels"]
    test = load_data("cifar10", data_dir=str(tmp_path), split="test")
    assert len(test) == 4


def _png(path, array):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def test_image_folder_resize_and_centre_crop(tmp_path):
    # 32 high, 48 wide: black 4-column bands at both sides, white in the middle; resized to
    # 16 (scale 1/2 -> 24 wide) and centre-cropped to the original columns 8..40, only white
    # remains (squashing the whole width instead would keep dark edges).
    img = np.zeros((32, 48, 3), dtype=np.uint8)
    img[:, 4:44] = 255
    for cls in ("cat", "dog"):
        for i in range(3):
            _png(tmp_path / "imgs" / cls / f"{i}.png", img)
    (tmp_path / "imgs" / "dog" / "notes.txt").write_text("ignored")
    data = load_data(str(tmp_path / "imgs"), image_size=16)
    assert data.shape == (3, 16, 16) and data.num_classes == 2 and len(data) == 6
    assert data.classes == ["cat", "dog"]
    x, y = data.all()
    assert y.tolist() == [0, 0, 0, 1, 1, 1]
    assert x.min().item() > 0.95  # all white: the black bands were cropped away


def test_grey_folder_gives_one_channel_and_jpeg(tmp_path):
    from PIL import Image

    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        Image.fromarray(np.full((10, 10), 100, dtype=np.uint8)).save(tmp_path / cls / "x.jpg")
    data = load_data(str(tmp_path), image_size=8)
    assert data.shape == (1, 8, 8)


def test_empty_folder_is_one_line_error(tmp_path):
    (tmp_path / "cls").mkdir()
    with pytest.raises(FlowmatchError, match="no .png/.jpg"):
        load_data(str(tmp_path))


def test_digits_embedded():
    tr, te = load_data("digits"), load_data("digits", split="test")
    assert tr.shape == (1, 8, 8) and tr.num_classes == 10
    assert len(tr) == 1500 and len(te) == 297
    x, y = tr.all()
    assert x.min().item() == -1.0 and x.max().item() == 1.0
    assert set(y.tolist()) == set(range(10))


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="shared MNIST subset not present")
def test_real_mnist_subset():
    tr = load_data("mnist", data_dir=str(SHARED_MNIST))
    te = load_data("mnist", data_dir=str(SHARED_MNIST), split="test")
    assert len(tr) == 7000 and len(te) == 1000 and tr.shape == (1, 28, 28)
    x, y = tr.all()
    assert set(y.tolist()) == set(range(10))
    assert (x == -1).float().mean() > 0.5  # mostly black background
    big = load_data("mnist", data_dir=str(SHARED_MNIST), image_size=32, split="test")
    assert big.shape == (1, 32, 32)


def test_hflip_gives_original_or_mirror():
    img = np.zeros((1, 1, 4, 4), dtype=np.uint8)
    img[..., 0] = 255  # left column white
    data = im.ImageData(img, np.array([0]), 1, hflip=True)
    x = data.sample(200, torch.Generator().manual_seed(0)).x
    left = x[:, 0, :, 0].mean(1) > 0
    right = x[:, 0, :, -1].mean(1) > 0
    assert (left ^ right).all()
    assert 60 < int(left.sum()) < 140


def test_resize_identity_and_bad_sizes(tmp_path):
    a = np.random.default_rng(0).integers(0, 256, (2, 1, 8, 8), dtype=np.uint8)
    assert np.array_equal(im.resize_images(a, 8), a)
    assert im.resize_images(a, 16).shape == (2, 1, 16, 16)
    with pytest.raises(FlowmatchError, match="image-size"):
        load_data("digits", image_size=2)
    with pytest.raises(FlowmatchError, match="image data only"):
        load_data("moons", image_size=16)


def test_missing_files_name_them(tmp_path):
    with pytest.raises(FlowmatchError, match="train-images-idx3-ubyte.gz"):
        load_data("mnist", data_dir=str(tmp_path))
    with pytest.raises(FlowmatchError, match="data_batch_1"):
        load_data("cifar10", data_dir=str(tmp_path))


def test_a_decompression_bomb_is_one_line(tmp_path, monkeypatch):
    from PIL import Image

    (tmp_path / "a").mkdir()
    Image.new("L", (64, 64)).save(tmp_path / "a" / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 64 x 64 counts as a bomb here
    with pytest.raises(FlowmatchError, match="too large"):
        load_data(str(tmp_path), image_size=8)
