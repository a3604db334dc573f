"""The C allocator around large combines and batch scans (glibc only; no-ops elsewhere).

Giving freed memory back: glibc's allocator keeps freed blocks in its heaps (and in one
arena per thread: dask's comm thread has its own) for reuse; after a combine of 10^7 chunk
references the freed per-file and per-batch manifests can leave 100-250 MB resident that
nothing uses, on top of which the next stage (the write) allocates anew. ``malloc_trim(0)``
returns those free pages (:func:`release_free_memory`).

Scanning under a fixed mmap threshold (:func:`scan_allocator`): glibc serves a request
above its mmap threshold (128 KiB at first) with a fresh ``mmap`` and gives it back with
``munmap`` on ``free``; normally the threshold then rises to the size of what was freed, so
a block allocated and freed over and over comes from the heap after the first time. Setting
``M_TRIM_THRESHOLD`` or ``M_MMAP_THRESHOLD`` (the ``MALLOC_TRIM_THRESHOLD_`` and
``MALLOC_MMAP_THRESHOLD_`` environment variables, or the ``glibc.malloc.*`` tunables)
switches that adjustment off. dask.distributed's nanny starts every worker with
``MALLOC_TRIM_THRESHOLD_=65536`` (``distributed.nanny.pre-spawn-environ``), and libhdf5
allocates its 516 KiB metadata cache (``H5C_create``, zeroed) at every file open: in such a
worker each netCDF4/HDF5 file scanned maps, faults in (~130 pages) and unmaps half a
megabyte, about 0.3-0.5 ms of CPU per file, a fifth of a small file's scan. The tree's
combine tasks (:func:`vzcore._tree_combine._combine_parts`) run under it too: each part's
temporaries would be mapped anew (the root of 10^7 references: 31,000 page faults).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

__all__ = ["fixed_thresholds", "release_free_memory", "scan_allocator"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_DEFAULT_MMAP_THRESHOLD = 128 * 1024
"""glibc's initial mmap threshold (``DEFAULT_MMAP_THRESHOLD_MIN``)."""
_DEFAULT_TRIM_THRESHOLD = 128 * 1024

SCAN_MMAP_THRESHOLD = 32 * 2**20
"""mmap threshold while a batch is scanned: the ceiling of glibc's own adjustment on 64-bit
systems (``DEFAULT_MMAP_THRESHOLD_MAX``), so only large manifests are mapped."""
SCAN_TRIM_THRESHOLD = 2 * SCAN_MMAP_THRESHOLD
"""trim threshold meanwhile (twice the mmap threshold, as glibc's adjustment sets it)."""


@cache
def _libc() -> Any | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        _ = (libc.malloc_trim, libc.mallopt)  # glibc has both; musl has neither
    except (OSError, AttributeError):  # not glibc (e.g. musl)
        return None
    return libc


def release_free_memory() -> None:
    """Return the allocator's free pages to the system (glibc only; costs milliseconds)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def _size(text: str) -> int | None:
    try:
        value = int(text, 0)
    except ValueError:
        return None
    return value if 0 <= value < 2**31 else None


def fixed_thresholds(environ: Mapping[str, str] | None = None) -> tuple[int, int] | None:
    """Return ``(trim, mmap)`` thresholds set at the process's start, or None when none was.

    Read from ``MALLOC_TRIM_THRESHOLD_``/``MALLOC_MMAP_THRESHOLD_`` and the
    ``glibc.malloc.trim_threshold``/``glibc.malloc.mmap_threshold`` entries of
    ``GLIBC_TUNABLES``; the one not set keeps glibc's default (128 KiB). None: glibc adjusts
    its thresholds itself (nothing to do), or a value it would not accept.
    """
    env = os.environ if environ is None else environ
    found: dict[str, int | None] = {}
    for entry in env.get("GLIBC_TUNABLES", "").split(":"):
        key, _, value = entry.partition("=")
        if key in ("glibc.malloc.trim_threshold", "glibc.malloc.mmap_threshold"):
            found[key.rsplit(".", 1)[1].split("_")[0]] = _size(value)
    for kind in ("trim", "mmap"):
        text = env.get(f"MALLOC_{kind.upper()}_THRESHOLD_")
        if text is not None:
            found[kind] = _size(text)
    if not found or any(v is None for v in found.values()):
        return None
    trim = found.get("trim") or _DEFAULT_TRIM_THRESHOLD
    mmap = found.get("mmap") or _DEFAULT_MMAP_THRESHOLD
    return trim, mmap


_lock = threading.Lock()
_inside = 0


@contextlib.contextmanager
def scan_allocator() -> Iterator[None]:
    """Scan with glibc's large thresholds when the process was started with fixed ones.

    In a process whose thresholds were fixed at start (:func:`fixed_thresholds`, e.g. a
    dask.distributed worker), sets the mmap threshold to :data:`SCAN_MMAP_THRESHOLD` and the
    trim threshold to :data:`SCAN_TRIM_THRESHOLD` for the duration (module docstring), then
    puts the process's own values back and returns the free pages to the system
    (``malloc_trim(0)``), as that setting asks. Threads of one process share the setting:
    the first to enter sets it, the last to leave restores it. Elsewhere a no-op.
    """
    global _inside
    libc = _libc()
    fixed = fixed_thresholds() if libc is not None else None
    if libc is None or fixed is None:
        yield
        return
    with _lock:
        _inside += 1
        if _inside == 1:
            libc.mallopt(_M_MMAP_THRESHOLD, SCAN_MMAP_THRESHOLD)
            libc.mallopt(_M_TRIM_THRESHOLD, SCAN_TRIM_THRESHOLD)
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0:
                trim, mmap = fixed
                libc.mallopt(_M_MMAP_THRESHOLD, mmap)
                libc.mallopt(_M_TRIM_THRESHOLD, trim)
                libc.malloc_trim(0)
