"""Each example script runs end to end with a tiny budget."""

from __future__ import annotations

from helpers import EXAMPLES as EX
from helpers import SHARED_MNIST, make_cifar_dir, make_idx_dir, script


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
    r = script(
        EX / "cifar10_unet_rk4.py", "--data-dir", str(tmp_path / "cifar"), "--steps", "2", "--channels", "8", "--batch-size", "2", "--rk4-steps", "1", "--per-class", "1", "--out", str(tmp_path / "u")
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "u" / "samples_rk4.png").is_file() and "NFE 4" in r.stdout


def test_examples_use_the_public_api_only():
    """Examples import flowmatch's packages by their public names (no private modules)."""
    import ast
    import importlib

    for path in sorted(EX.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "flowmatch":
                module = importlib.import_module(node.module)
                public = set(getattr(module, "__all__", ()))
                assert node.module.count(".") <= 1, (path.name, node.module)  # a package, not one of its modules
                for alias in node.names:
                    assert alias.name in public, (path.name, node.module, alias.name)
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("flowmatch.") for a in node.names), path.name
