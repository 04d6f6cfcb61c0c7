"""glibc's allocator: the command line keeps freed activations in the process unless the user chose otherwise."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

import flowmatch.runs.allocator as allocator
from flowmatch.cli import main
from flowmatch.runs.allocator import allocator_left_alone
from helpers import subprocess_env

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# A 4 MiB block: under glibc's defaults it is mmap-ed (above the 128 KiB starting threshold);
# once the allocator is set it comes from the heap. mallinfo2's hblks counts mmap-ed blocks.
MMAPPED_BLOCKS = """
import ctypes, sys
from flowmatch.runs import reuse_freed_memory
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
libc.malloc.restype = ctypes.c_void_p
set_ = reuse_freed_memory() if sys.argv[1] == "set" else False
before = libc.mallinfo2().hblks
block = libc.malloc(4 * 2**20)
print(int(set_), libc.mallinfo2().hblks - before)
libc.free(ctypes.c_void_p(block))
"""


def test_the_allocator_is_left_alone_where_the_user_chose():
    assert allocator_left_alone({}, "glibc") == ""
    assert allocator_left_alone({"PATH": "/bin"}, "glibc") == ""
    assert "MALLOC_ARENA_MAX" in allocator_left_alone({"MALLOC_ARENA_MAX": "2"}, "glibc")
    assert "LD_PRELOAD" in allocator_left_alone({"LD_PRELOAD": "libjemalloc.so"}, "glibc")
    assert "GLIBC_TUNABLES" in allocator_left_alone({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"}, "glibc")
    assert "FLOWMATCH_ALLOCATOR" in allocator_left_alone({"FLOWMATCH_ALLOCATOR": "default"}, "glibc")
    assert "not glibc" in allocator_left_alone({}, "musl")
    assert "not glibc" in allocator_left_alone({}, "")


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt and mallinfo2")
@pytest.mark.parametrize("how, expected", [("leave", "0 1"), ("set", "1 0")])
def test_a_large_block_comes_from_the_heap_once_the_allocator_is_set(how, expected):
    env = {k: v for k, v in subprocess_env().items() if not k.startswith("MALLOC_") and k not in ("GLIBC_TUNABLES", "LD_PRELOAD", "FLOWMATCH_ALLOCATOR")}
    out = subprocess.run([sys.executable, "-c", MMAPPED_BLOCKS, how], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == expected.split()


def test_the_command_line_sets_the_allocator_before_its_command(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(allocator, "reuse_freed_memory", lambda: calls.append(1) or True)
    assert main(["plot", str(tmp_path / "no-such-run"), "--out", str(tmp_path / "p.png")]) == 2
    assert calls == [1]
