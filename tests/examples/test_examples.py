"""Each example script runs end to end with a tiny budget."""

from __future__ import annotations


from _images_helpers import REPO, SHARED_MNIST, make_cifar_dir, make_idx_dir, script

EX = REPO / "examples"


def test_moons_midpoint(tmp_path):
    r = script(EX / "moons_midpoint.py", "--steps", "5", "--n", "50", "--solver-steps", "2", "--out", str(tmp_path / "m"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "m" / "trajectory_panel.png").is_file()


def test_mnist_simple_cnn(tmp_path):
    data = SHARED_MNIST if SHARED_MNIST.is_dir() else tmp_path / "mnist"
    if not SHARED_MNIST.is_dir():
        make_idx_dir(data, n=20)
    r = script(EX / "mnist_simple_cnn.py", "--data-dir", str(data), "--steps", "2", "--batch-size", "4", "--channels", "4", "--n", "4", "--out", str(tmp_path / "c"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "c" / "samples_euler10.png").is_file() and "NFE 10" in r.stdout


def test_cifar10_unet_rk4(tmp_path):
    make_cifar_dir(tmp_path / "cifar", per_batch=2)
    r = script(EX / "cifar10_unet_rk4.py", "--data-dir", str(tmp_path / "cifar"), "--steps", "2", "--channels", "8", "--batch-size", "2",
               "--rk4-steps", "1", "--per-class", "1", "--out", str(tmp_path / "u"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "u" / "samples_rk4.png").is_file() and "NFE 4" in r.stdout
