"""glibc's allocator, set so that a process reuses the memory of freed activations.

Under glibc's defaults, a tensor of a few MiB freed at the top of the heap is given back to the
system once the free space there passes the trim threshold, and the next step's tensor of the
same size page-faults its way back in. A forward pass allocates and frees such tensors at every
layer, so a CPU process spends a share of its time in page faults, a share that depends on the
order of its allocations (two solvers running the same network at the same cost can differ by
several percent in speed for that reason alone). Keeping allocations under 32 MiB on the heap
and up to 256 MiB of freed memory in the process removes those faults;
`benchmarks/manifolds_peers.py --glibc-defaults` measures the difference.

The command line sets it at start (`flowmatch.cli.main`); a user's own script may call
`reuse_freed_memory()`. It changes nothing where the user chose: any MALLOC_* variable,
GLIBC_TUNABLES or LD_PRELOAD (jemalloc, tcmalloc) in the environment, FLOWMATCH_ALLOCATOR=default,
or a C library other than glibc.
"""

from __future__ import annotations

import ctypes
import os
import platform
from collections.abc import Mapping

M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 2**20  # the largest glibc accepts on 64-bit systems
TRIM_THRESHOLD = 256 * 2**20


def allocator_left_alone(environ: Mapping[str, str], libc: str) -> str:
    """Why the allocator is left as it is ('' when it may be set): the user's environment or a non-glibc C library."""
    if libc != "glibc":
        return f"the C library is {libc or 'unknown'}, not glibc"
    if environ.get("FLOWMATCH_ALLOCATOR", "") == "default":
        return "FLOWMATCH_ALLOCATOR=default"
    chosen = sorted(k for k in environ if k.startswith("MALLOC_") or k in ("GLIBC_TUNABLES", "LD_PRELOAD"))
    return f"{chosen[0]} is set" if chosen else ""


def reuse_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds (see the module's docstring); True if set."""
    if allocator_left_alone(os.environ, platform.libc_ver()[0]):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    except (OSError, AttributeError):
        return False


__all__ = ["allocator_left_alone", "reuse_freed_memory"]
