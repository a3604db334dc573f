"""Giving freed memory back to the operating system after a large combine.

glibc's allocator keeps freed blocks in its heaps (and in one arena per thread: dask's comm
thread has its own) for reuse; after a combine of 10^7 chunk references the freed per-file
and per-batch manifests can leave 100-250 MB resident that nothing uses, on top of which the
next stage (the write) allocates anew. ``malloc_trim(0)`` returns those free pages. It is a
no-op elsewhere (other C libraries, other systems).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import cache

__all__ = ["release_free_memory"]


@cache
def _malloc_trim() -> object | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to trim
        return None


def release_free_memory() -> None:
    """Return the allocator's free pages to the system (glibc only; costs milliseconds)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)  # type: ignore[operator]  # a ctypes foreign function
