"""The wire format of a frame: one binary WebSocket message, a JSON header and float32 arrays.

    uint32 little-endian  header length H
    H bytes               the header, UTF-8 JSON; header["arrays"][name] = [offset, shape]
    0-3 bytes             padding to a multiple of 4
    float32 data          each array, C order, at its byte offset from here

Binary because a frame carries thousands of coordinates five or more times a second: packing
them as float32 costs microseconds, writing them as JSON numbers milliseconds, and the page
reads them with `new Float32Array(buffer, offset, count)` without parsing. Other messages (status,
errors) are small JSON text messages.
"""

from __future__ import annotations

import json
import struct
from typing import Any, Mapping

import numpy as np
from torch import Tensor


def encode_frame(header: Mapping[str, Any], arrays: Mapping[str, Tensor | np.ndarray]) -> bytes:
    """Pack `header` (JSON-able) and `arrays` (any shapes, stored as float32) into one message."""
    blobs, table, offset = [], {}, 0
    for name, arr in arrays.items():
        a = np.ascontiguousarray((arr.detach().cpu().numpy() if isinstance(arr, Tensor) else np.asarray(arr)), dtype=np.float32)
        table[name] = [offset, list(a.shape)]
        blobs.append(a.tobytes())
        offset += a.nbytes
    head = json.dumps({**header, "arrays": table}, separators=(",", ":"), allow_nan=False).encode()
    pad = b"\0" * (-(4 + len(head)) % 4)
    return b"".join([struct.pack("<I", len(head)), head, pad, *blobs])


def decode_frame(message: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The inverse of `encode_frame` (what the page does in JavaScript; used by the tests)."""
    (n,) = struct.unpack_from("<I", message, 0)
    header = json.loads(message[4 : 4 + n].decode())
    start = 4 + n + (-(4 + n) % 4)
    arrays = {}
    for name, (offset, shape) in header.pop("arrays").items():
        count = int(np.prod(shape)) if shape else 1
        arrays[name] = np.frombuffer(message, dtype=np.float32, count=count, offset=start + offset).reshape(shape)
    return header, arrays


__all__ = ["decode_frame", "encode_frame"]
