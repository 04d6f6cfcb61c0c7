"""Downloads of the image sets: checksums, a good local copy kept, one-line errors naming the files."""

from __future__ import annotations

import pytest

from flowmatch.data import load_data
from flowmatch.data.download import REMOTES, Remote, fetch, md5sum, verify_md5
from flowmatch.errors import FlowmatchError
from helpers import make_idx_dir


# -- downloads (no network in tests: file:// mirrors and a refused port) ---------------------
def test_fetch_verifies_checksum(tmp_path):
    src = tmp_path / "mirror"
    src.mkdir()
    (src / "f.bin").write_bytes(b"hello flowmatch")
    good = md5sum(src / "f.bin")
    got = fetch(Remote("f.bin", good, (src.as_uri() + "/",)), tmp_path / "dest")
    assert got.read_bytes() == b"hello flowmatch"
    with pytest.raises(FlowmatchError, match="checksum mismatch"):
        fetch(Remote("f.bin", "0" * 32, (src.as_uri() + "/",)), tmp_path / "dest2")
    assert not (tmp_path / "dest2" / "f.bin").exists()
    with pytest.raises(FlowmatchError, match="checksum mismatch"):
        verify_md5(src / "f.bin", "1" * 32)


def test_download_without_network_names_files(tmp_path, monkeypatch):
    dead = tuple(Remote(r.name, r.md5, ("http://127.0.0.1:9/",)) for r in REMOTES["mnist"])
    monkeypatch.setitem(REMOTES, "mnist", dead)
    with pytest.raises(FlowmatchError) as err:
        load_data("mnist", data_dir=str(tmp_path), download=True)
    msg = str(err.value)
    assert "\n" not in msg and "t10k-labels-idx1-ubyte.gz" in msg and str(tmp_path / "mnist") in msg


def test_download_uses_a_good_local_copy(tmp_path, monkeypatch):
    """A file already in place with the right MD5 is not fetched again (no mirror reachable)."""
    make_idx_dir(tmp_path / "src", n=5)
    remotes = []
    for r in REMOTES["mnist"]:
        path = tmp_path / "src" / r.name
        remotes.append(Remote(r.name, md5sum(path), ("http://127.0.0.1:9/",)))
        (tmp_path / "data" / "mnist").mkdir(parents=True, exist_ok=True)
        (tmp_path / "data" / "mnist" / r.name).write_bytes(path.read_bytes())
    monkeypatch.setitem(REMOTES, "mnist", tuple(remotes))
    assert len(load_data("mnist", data_dir=str(tmp_path / "data"), download=True)) == 5
