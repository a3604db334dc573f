"""Running one function over many files: serially, in threads or processes, or on dask.

Scan results travel back as xarray Datasets of ManifestArrays, whose manifests are a few
numpy arrays each: no per-chunk Python objects cross process boundaries.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

from vzcore.errors import VZError

__all__ = ["Parallel", "map_files"]

Parallel = bool | Literal["threads", "processes", "dask"] | cf.Executor


def _progress(total: int, enabled: bool | None) -> Any:
    """Return an object with ``update(n)`` and ``close()`` (a tqdm bar or a no-op)."""
    if enabled is None:
        enabled = total > 1 and sys.stderr.isatty()
    if not enabled:
        return _NoProgress()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _TextProgress(total)
    return tqdm(total=total, unit="file", desc="scanning")


class _NoProgress:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


class _TextProgress:
    """A minimal progress line on stderr: files scanned, rate and ETA."""

    def __init__(self, total: int) -> None:
        import time

        self.total, self.done, self.start, self._time = total, 0, time.monotonic(), time.monotonic

    def update(self, n: int = 1) -> None:
        self.done += n
        elapsed = max(self._time() - self.start, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate else 0.0
        sys.stderr.write(
            f"\rscanning {self.done}/{self.total} files, {rate:.1f} files/s, ETA {eta:.0f} s"
        )
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")


def _dask_map(func: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Any]:
    try:
        from distributed import as_completed, get_client
    except ImportError:
        client = None
    else:
        try:
            client = get_client()
        except ValueError:  # no active Client
            client = None
    if client is not None:
        futures = client.map(func, items, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in as_completed(futures):
            yield index[fut.key], fut.result()
        return
    import dask

    results = dask.compute(*[dask.delayed(func)(x) for x in items])
    yield from enumerate(results)


def map_files(
    func: Callable[[Any], Any],
    items: Sequence[Any],
    parallel: Parallel = False,
    progress: bool | None = None,
) -> list[Any]:
    """Apply ``func`` to every item, keeping order, with the requested parallelism."""
    bar = _progress(len(items), progress)
    results: list[Any] = [None] * len(items)
    try:
        if parallel is False or len(items) <= 1:
            for i, item in enumerate(items):
                results[i] = func(item)
                bar.update(1)
        elif parallel == "dask":
            for i, value in _dask_map(func, items):
                results[i] = value
                bar.update(1)
        else:
            if isinstance(parallel, cf.Executor):
                executor, own = parallel, False
            elif parallel in (True, "threads"):
                executor, own = cf.ThreadPoolExecutor(min(32, (os.cpu_count() or 1) + 4)), True
            elif parallel == "processes":
                import multiprocessing

                ctx = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
                executor, own = cf.ProcessPoolExecutor(os.cpu_count(), mp_context=ctx), True
            else:
                raise VZError(
                    f"parallel must be False, 'threads', 'processes', 'dask' or a "
                    f"concurrent.futures.Executor, got {parallel!r}"
                )
            try:
                futures = {executor.submit(func, item): i for i, item in enumerate(items)}
                for fut in cf.as_completed(futures):
                    results[futures[fut]] = fut.result()
                    bar.update(1)
            finally:
                if own:
                    executor.shutdown(wait=True, cancel_futures=True)
    finally:
        bar.close()
    return results
