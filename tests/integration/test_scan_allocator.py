"""Batch scans on a dask.distributed worker run with glibc's large allocator thresholds.

A LocalCluster's nanny starts each worker with ``MALLOC_TRIM_THRESHOLD_=65536``, which fixes
glibc's mmap threshold at 128 KiB, and libhdf5 allocates a 516 KiB metadata cache at every
file open: each file scanned then maps and faults in that half megabyte anew (unless a free
block of the heap happens to fit it). Checked on a real worker: where glibc serves a large
block from (the chunk header's IS_MMAPPED bit), and page faults per file scanned.
"""

from __future__ import annotations

import sys

import pytest

from vzcore.testing.samples import write_sample_files

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")


def _mapped(libc, size):
    """Allocate ``size`` bytes with malloc: True when glibc mapped them (IS_MMAPPED bit)."""
    import ctypes

    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    ptr = libc.malloc(size)
    header = ctypes.c_size_t.from_address(ptr - ctypes.sizeof(ctypes.c_size_t)).value
    libc.free(ptr)
    return bool(header & 2)


def _on_worker(paths):
    """On the worker: mapped or not (before, inside, after), and page faults per file inside."""
    from vzcore._memory import _libc, fixed_thresholds, scan_allocator
    from vzcore.api import open_virtual_dataset

    libc = _libc()
    if libc is None or fixed_thresholds() is None:
        return None

    def faults():
        with open("/proc/self/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[7])  # minflt

    open_virtual_dataset(paths[0])  # imports and first-use work out of the count
    # a block larger than any free one the heap can hold here (which glibc would reuse)
    before = _mapped(libc, 16 * 2**20)
    with scan_allocator():
        inside = _mapped(libc, 4 * 2**20)
        start = faults()
        for _ in range(3):
            for p in paths:
                open_virtual_dataset(p)
        per_file = (faults() - start) / (3 * len(paths))
    return before, inside, _mapped(libc, 16 * 2**20), per_file


def _run_on_a_worker(func, paths):
    """``func(paths)`` on the one worker of a real LocalCluster (its nanny's environment)."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        got = client.submit(func, paths, pure=False).result()
    if got is None:
        pytest.skip("the worker's C library is not glibc, or its nanny fixed no threshold")
    return got


def test_worker_scans_with_large_thresholds_then_restores_its_own(tmp_path):
    paths = write_sample_files(tmp_path, n_files=10)
    before, inside, after, per_file = _run_on_a_worker(_on_worker, paths)
    assert (before, inside, after) == (True, False, True)  # 128 KiB, 32 MiB, 128 KiB again
    assert per_file < 20  # not the ~130 of a 516 KiB block mapped and faulted in per file


def _combine_on_worker(paths):
    """On the worker: whether a 4 MiB block is mapped while parts combine, and after."""
    from vzcore import _combine
    from vzcore._memory import _libc, fixed_thresholds
    from vzcore._tree_combine import Part, _combine_parts
    from vzcore.api import open_virtual_dataset

    libc = _libc()
    if libc is None or fixed_thresholds() is None:
        return None
    seen = []
    real = _combine.combine_virtual

    def recording(*args, **kwargs):
        seen.append(_mapped(libc, 4 * 2**20))
        return real(*args, **kwargs)

    _combine.combine_virtual = recording
    try:
        parts = [Part(open_virtual_dataset(p), p, p) for p in paths]
        combined = _combine_parts(parts, {"combine": "by_coords", "concat_dim": None})
    finally:
        _combine.combine_virtual = real
    return seen, _mapped(libc, 16 * 2**20), combined.dataset().sizes["time"]


def test_worker_combines_with_large_thresholds_then_restores_its_own(tmp_path):
    """The tree's combines (the root's: 10^7 references) map no temporary of a few MB."""
    paths = write_sample_files(tmp_path, n_files=3)
    seen, after, steps = _run_on_a_worker(_combine_on_worker, paths)
    assert seen == [False]  # inside the combine: 32 MiB threshold
    assert after is True  # the worker's own 128 KiB again
    assert steps > len(paths)  # (the files were combined along time)
