"""Let the CPU reuse the memory of large tensors instead of faulting it in again every call.

PyTorch allocates CPU tensors with `malloc`. glibc serves blocks above its mmap threshold (at most
32 MB) with `mmap` and unmaps them on `free`, so every model call on the CPU maps its large
activations afresh and the kernel zeroes every page on first touch: restoring with a2sb-small
spent about 40 % of its CPU time in the kernel (`benchmarks/RESULTS.md`). With mmap off and the
trim threshold raised, freed blocks stay in the heap and are reused. The price is that the
process keeps its peak memory until it exits, which suits a command that runs one job.
"""

from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
TRIM_THRESHOLD_BYTES = 2**31 - 1


def keep_freed_memory() -> bool:
    """Tune glibc's malloc as above; returns False (and changes nothing) on other C libraries."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
