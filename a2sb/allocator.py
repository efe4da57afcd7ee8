"""Let the CPU reuse the memory of large tensors instead of faulting it in again every call, and
bound how much freed memory the process keeps.

PyTorch allocates CPU tensors with `malloc`. glibc serves blocks above its mmap threshold (at most
32 MB) with `mmap` and unmaps them on `free`, so every model call on the CPU maps its large
activations afresh and the kernel zeroes every page on first touch: restoring with a2sb-small
spent about 40 % of its CPU time in the kernel (`benchmarks/RESULTS.md`). With mmap off and the
trim threshold raised, freed blocks stay in the heap and are reused.

The price is memory that is freed but kept. A streamed restoration frees its blocks of frames out
of the order it allocated them, and the heap fragments: at 49 steps the freed part grew to about
as much as the part in use. So the streamed loop calls `return_excess_freed_memory` after each
block, which hands the free pages inside the heap back to the system (`malloc_trim`) once more
than `GROWTH_LIMIT_BYTES` have been added to the process since the last trim: the network's
activations stay in place from one call to the next, and what is freed but kept stays bounded.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
TRIM_THRESHOLD_BYTES = 2**31 - 1
GROWTH_LIMIT_BYTES = 512 * 2**20
"""How far the process may grow past its size after the last `malloc_trim` before
`return_excess_freed_memory` trims again."""

_kept: dict[str, int | None] = {"limit": None, "resident_after_trim": 0}


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """glibc; None on other C libraries."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt, libc.malloc_trim  # noqa: B018 (both are glibc's: AttributeError otherwise)
    except (OSError, AttributeError):
        return None
    return libc


def keep_freed_memory(growth_limit_bytes: int = GROWTH_LIMIT_BYTES) -> bool:
    """Tune glibc's malloc as above; returns False (and changes nothing) on other C libraries."""
    libc = _glibc()
    if libc is None:
        return False
    if not (libc.mallopt(M_MMAP_MAX, 0) and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)):
        return False
    _kept.update(limit=growth_limit_bytes, resident_after_trim=resident_bytes())
    return True


def resident_bytes() -> int:
    """The process's resident memory now (Linux's /proc/self/statm)."""
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def return_excess_freed_memory() -> bool:
    """After `keep_freed_memory`: if the process has grown by more than its limit since the last
    trim, hand the free pages inside the heap back to the system (`malloc_trim`). Returns whether
    it trimmed; without `keep_freed_memory`, glibc trims by itself and this does nothing."""
    limit = _kept["limit"]
    if limit is None or resident_bytes() - _kept["resident_after_trim"] <= limit:
        return False
    _glibc().malloc_trim(0)
    _kept["resident_after_trim"] = resident_bytes()
    return True
