"""Image folders are decoded by the plain raster decoders only: a file of any other format, whatever
its name, is refused by name before a decoder for it runs; damaged, oversized and special files
are one-line errors; overflowing IDX headers are refused."""

from __future__ import annotations

import gzip
import io
import os

import numpy as np
import pytest
from PIL import EpsImagePlugin, Image, PngImagePlugin

from flowmatch.data import load_data
from flowmatch.data.image_files import RASTER_FORMATS, read_idx
from flowmatch.errors import FlowmatchError

POSTSCRIPT = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n%%EndComments\n0 0 moveto (x) show\nshowpage\n%%EOF\n"
# formats Pillow can write that an image folder must not decode (each saved under a .png name)
FOREIGN = ["EPS", "ICO", "PCX", "PPM", "TGA", "SGI", "DDS", "QOI", "XBM", "MSP", "PDF", "SPIDER"]


def folder_with(tmp_path, name: str, payload: bytes):
    """An image folder: one good PNG in class a, and `payload` saved as b/`name`."""
    for c in ("a", "b"):
        (tmp_path / "imgs" / c).mkdir(parents=True, exist_ok=True)
    Image.new("L", (8, 8), 128).save(tmp_path / "imgs" / "a" / "good.png")
    (tmp_path / "imgs" / "b" / name).write_bytes(payload)
    return tmp_path / "imgs"


def encoded(fmt: str) -> bytes:
    mode = {"XBM": "1", "MSP": "1", "SPIDER": "F", "PPM": "RGB", "QOI": "RGB"}.get(fmt, "RGB" if fmt != "SGI" else "L")
    buf = io.BytesIO()
    Image.new(mode, (8, 8)).save(buf, format=fmt)
    return buf.getvalue()


@pytest.fixture
def eps_never_opened(monkeypatch):
    """Records every time Pillow's PostScript plugin is asked to open a file."""
    calls: list[object] = []
    original = EpsImagePlugin.EpsImageFile._open

    def spy(self):
        calls.append(self.fp)
        return original(self)

    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", spy)
    return calls


def test_postscript_named_png_is_refused_by_name_and_never_handed_to_ghostscript(tmp_path, eps_never_opened):
    root = folder_with(tmp_path, "x.png", POSTSCRIPT)
    with pytest.raises(FlowmatchError, match=r"x\.png is of format EPS; image folders hold PNG, JPEG"):
        load_data(str(root))
    assert eps_never_opened == []


@pytest.mark.parametrize("fmt", FOREIGN)
def test_every_other_format_is_refused_by_name(tmp_path, fmt, eps_never_opened):
    try:
        payload = encoded(fmt)
    except (OSError, KeyError, ValueError):
        pytest.skip(f"this Pillow cannot write {fmt}")
    root = folder_with(tmp_path, "x.png", payload)
    with pytest.raises(FlowmatchError) as err:
        load_data(str(root))
    assert "image folders hold" in str(err.value) and "\n" not in str(err.value)
    assert eps_never_opened == []


@pytest.mark.parametrize("fmt,suffix", [("PNG", ".png"), ("JPEG", ".jpg"), ("BMP", ".bmp"), ("GIF", ".gif"), ("WEBP", ".webp"), ("TIFF", ".tif")])
def test_the_raster_formats_are_read(tmp_path, fmt, suffix):
    assert fmt in RASTER_FORMATS
    buf = io.BytesIO()
    Image.new("RGB", (12, 10), (200, 10, 10)).save(buf, format=fmt)
    root = folder_with(tmp_path, "x" + suffix, buf.getvalue())
    data = load_data(str(root), image_size=8)
    x, y = data.all()
    assert x.shape == (2, 3, 8, 8) and sorted(y.tolist()) == [0, 1]


@pytest.mark.parametrize("zip_", [True, False])
def test_a_png_with_a_huge_text_chunk_is_one_line(tmp_path, zip_):
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "x" * ((2**21) if zip_ else (2**26 + 10)), zip=zip_)
    buf = io.BytesIO()
    Image.new("L", (8, 8)).save(buf, format="PNG", pnginfo=info)
    root = folder_with(tmp_path, "x.png", buf.getvalue())
    with pytest.raises(FlowmatchError, match="cannot read image .*x.png"):
        load_data(str(root))


def test_a_fifo_named_like_an_image_is_refused_without_blocking(tmp_path):
    root = folder_with(tmp_path, "ok.png", b"")
    (root / "b" / "ok.png").unlink()
    os.mkfifo(root / "b" / "pipe.png")
    with pytest.raises(FlowmatchError, match="not a regular file"):
        load_data(str(root))


@pytest.mark.parametrize(
    "header",
    [
        bytes([0, 0, 8, 3]) + (2**32 - 1).to_bytes(4, "big") * 3,  # 2^96 bytes declared
        bytes([0, 0, 8, 255]) + (65536).to_bytes(4, "big") * 255,  # 255 dimensions
        bytes([0, 0, 8, 4]) + (2**16).to_bytes(4, "big"),  # fewer dimensions than declared
        bytes([0, 0, 8, 0]),  # no dimensions
        bytes([0, 0, 8, 2]) + (2**31).to_bytes(4, "big") + (2**33 // 2**31).to_bytes(4, "big"),
    ],
)
@pytest.mark.parametrize("gz", [False, True])
def test_overflowing_idx_headers_are_one_line(tmp_path, header, gz):
    body = header + bytes(16)
    path = tmp_path / ("x-idx3-ubyte" + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(body) if gz else body)
    with pytest.raises(FlowmatchError) as err:
        read_idx(path)
    assert "\n" not in str(err.value)


def test_a_good_idx_file_still_reads(tmp_path):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "x").write_bytes(bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in arr.shape) + arr.tobytes())
    assert np.array_equal(read_idx(tmp_path / "x"), arr)
