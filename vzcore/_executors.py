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

from vzcore._worker_warnings import Noting, unwrap
from vzcore.errors import VZError

__all__ = [
    "Parallel",
    "Progress",
    "check_client_picklable",
    "check_picklable",
    "check_pool_picklable",
    "map_files",
    "own_process_pool",
]

Parallel = bool | Literal["threads", "processes", "dask"] | cf.Executor | Any
"""``parallel=`` values: Any stands for a ``distributed.Client`` (an optional dependency)."""


Progress = bool | Literal["auto"] | None


def _in_notebook() -> bool:
    """Return True inside a Jupyter kernel (where tqdm.auto draws a widget)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except AttributeError:  # pragma: no cover - very old or partial IPython
        return False
    return shell is not None and hasattr(shell, "kernel")


def _interactive() -> bool:
    """Return True when a progress bar would be seen: a terminal or a notebook."""
    try:
        tty = sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        tty = False
    return tty or _in_notebook()


def _progress(total: int, enabled: Progress) -> Any:
    """Return an object with ``update(n)`` and ``close()`` (a tqdm bar, a text line or a no-op).

    ``"auto"``/None: only when interactive (:func:`_interactive`) and for more than one
    file; True: always (e.g. into a batch job's log); False: never.
    """
    if enabled is None or enabled == "auto":
        enabled = total > 1 and _interactive()
    elif not isinstance(enabled, bool):
        raise VZError(f"progress must be True, False or 'auto', got {enabled!r}")
    if not enabled:
        return _NoProgress()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _TextProgress(total)
    return tqdm(total=total, unit="file", desc="scanning", file=sys.stderr)


class _NoProgress:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


class _TextProgress:
    """A plain progress line on stderr (no tqdm): files scanned, rate and ETA.

    On a terminal the line is redrawn in place (at most every 0.1 s); elsewhere (a log file)
    a line is written at most every 10 s, plus the final one.
    """

    def __init__(self, total: int) -> None:
        import time

        self._time = time.monotonic
        self.total, self.done = total, 0
        self.start = self.last = self._time()
        self.tty = _interactive()
        self.interval = 0.1 if self.tty else 10.0
        self.closed = False

    def line(self) -> str:
        elapsed = max(self._time() - self.start, 1e-9)
        rate = self.done / elapsed
        eta = f"{(self.total - self.done) / rate:.0f} s" if rate else "?"
        return (
            f"scanning {self.done}/{self.total} files, {rate:.1f} files/s, "
            f"elapsed {elapsed:.0f} s, ETA {eta}"
        )

    def update(self, n: int = 1) -> None:
        self.done += n
        now = self._time()
        if now - self.last < self.interval and self.done < self.total:
            return
        self.last = now
        sys.stderr.write(("\r" if self.tty else "") + self.line() + ("" if self.tty else "\n"))
        sys.stderr.flush()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.tty:
            sys.stderr.write("\n")
        elif self.done < self.total:  # stopped early (an error): say where
            sys.stderr.write(self.line() + "\n")
        sys.stderr.flush()


def _dask_map(
    func: Callable[[Any], Any], items: Sequence[Any], client: Any, bar: Any
) -> Iterator[Any]:
    """Yield ``(index, result)`` as dask computes them, counting each finished item on ``bar``.

    On ``client``, else on the active dask.distributed Client, else with dask's default
    scheduler (whose tasks report to ``bar`` as they finish, through a dask callback).
    """
    if client is None:
        from vzcore._tree_combine import resolve_client

        client = resolve_client("dask")
    if client is not None:
        from distributed import as_completed

        check_client_picklable((func, items[0]))
        futures = client.map(Noting(func), items, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in as_completed(futures, loop=client.loop):  # type: ignore[no-untyped-call]  # untyped
            yield index[fut.key], unwrap(fut.result(), stacklevel=4)
            bar.update(1)
        return
    from dask.base import compute
    from dask.callbacks import Callback
    from dask.delayed import delayed

    tasks = [delayed(Noting(func))(x) for x in items]
    keys = {t.key for t in tasks}

    def finished(key: Any, *_: Any) -> None:  # in the scheduler's thread, one per item
        if key in keys:
            bar.update(1)

    # (Noting: dask's scheduler may be configured to use processes)
    with Callback(posttask=finished):  # type: ignore[no-untyped-call]  # untyped
        results = compute(*tasks)  # type: ignore[no-untyped-call]
    for i, value in enumerate(results):
        yield i, unwrap(value, stacklevel=4)


def _run_batch(func: Callable[[Any], Any], batch: Sequence[Any]) -> list[Any]:
    """Apply ``func`` to a batch of items in a worker process (one round trip per batch)."""
    return [Noting(func)(item) for item in batch]


def _process_pool(preload: Sequence[str]) -> cf.ProcessPoolExecutor:
    """Return a process pool whose workers start with ``preload`` already imported.

    On Linux, from a process running a single thread, workers are forked from this one
    after it has imported ``preload``: they start at once, with everything loaded. Otherwise
    (other threads running, where ``fork`` could deadlock, or other systems) they come from
    a fork server that imports ``preload`` once; each worker is then a cheap fork of it
    rather than a fresh interpreter importing xarray, h5py and the reader (about 1 s each).
    """
    import importlib
    import multiprocessing
    import threading

    workers = os.cpu_count()
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        for module in preload:
            importlib.import_module(module)
        return cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    if os.name != "posix":  # pragma: no cover - no fork server on Windows
        return cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    ctx = multiprocessing.get_context("forkserver")
    if preload:
        ctx.set_forkserver_preload(list(preload))
    return cf.ProcessPoolExecutor(workers, mp_context=ctx)


def own_process_pool(
    parallel: Parallel, preload: Sequence[str]
) -> tuple[cf.Executor, bool, int] | None:
    """Return ``(executor, owned, workers)`` when ``parallel`` means a process pool, else None.

    ``"processes"`` makes a pool (:func:`_process_pool`; the caller shuts it down, owned is
    True); a :class:`concurrent.futures.ProcessPoolExecutor` is used as it is.
    """
    if isinstance(parallel, str) and parallel == "processes":
        return _process_pool(preload), True, os.cpu_count() or 1
    if isinstance(parallel, cf.ProcessPoolExecutor):
        workers = getattr(parallel, "_max_workers", None)  # not public; a hint for batch sizes
        return parallel, False, workers if isinstance(workers, int) else (os.cpu_count() or 1)
    return None


def _is_client(parallel: Any) -> bool:
    """Tell whether ``parallel`` is a dask.distributed Client (without importing distributed)."""
    module = sys.modules.get("distributed")
    return module is not None and isinstance(parallel, module.Client)


def _is_process_pool(executor: cf.Executor) -> bool:
    return isinstance(executor, cf.ProcessPoolExecutor)


def check_picklable(args: Any, dumps: Callable[[Any], Any], mode: str, instead: str) -> None:
    """Refuse, before any task is sent, options the workers cannot be sent (pickled).

    ``dumps`` pickles as the executor will; ``mode`` and ``instead`` name the executor
    and what to use instead. Otherwise the error comes from inside the executor (pickle's,
    or dask's "Could not serialize object"), once per task.
    """
    try:
        dumps(args)
    except Exception as err:  # pickle raises PicklingError, TypeError, AttributeError...
        raise VZError(
            f"{mode} sends the open options to its workers by pickling them, and they "
            f"cannot be pickled: {err}. Pass options that pickle (functions defined at "
            f"module level, no open files, locks or clients), or use {instead}."
        ) from err


def check_pool_picklable(func: Callable[..., Any], item: Any) -> None:
    """Refuse items a process pool cannot send, before any task runs (pickled as it will)."""
    from multiprocessing.reduction import ForkingPickler

    check_picklable(
        (func, item),
        ForkingPickler.dumps,
        "parallel='processes'",
        "parallel=False or a dask.distributed Client (whose cloudpickle sends lambdas)",
    )


def check_client_picklable(args: Any) -> None:
    """Refuse task arguments a dask Client cannot send, before any task runs (cloudpickle)."""
    import cloudpickle

    check_picklable(args, cloudpickle.dumps, "a dask Client", "parallel=False")


def map_files(
    func: Callable[[Any], Any],
    items: Sequence[Any],
    parallel: Parallel = False,
    progress: Progress = "auto",
    preload: Sequence[str] = (),
) -> list[Any]:
    """Apply ``func`` to every item, keeping order, with the requested parallelism.

    ``preload`` names modules that ``parallel="processes"`` workers import before their
    first item (the reader plugin, the core). Process pools get items in batches, a few per
    worker at a time, so that the round trips do not dominate when files are small.
    """
    bar = _progress(len(items), progress)
    results: list[Any] = [None] * len(items)
    try:
        if parallel is False or len(items) <= 1:
            for i, item in enumerate(items):
                results[i] = func(item)
                bar.update(1)
        elif (isinstance(parallel, str) and parallel == "dask") or _is_client(parallel):
            client = None if isinstance(parallel, str) else parallel
            for i, value in _dask_map(func, items, client, bar):
                results[i] = value
        else:
            if isinstance(parallel, cf.Executor):
                executor, own = parallel, False
            elif parallel in (True, "threads"):
                executor, own = cf.ThreadPoolExecutor(min(32, (os.cpu_count() or 1) + 4)), True
            elif parallel == "processes":
                executor, own = _process_pool(preload), True
            else:
                raise VZError(
                    f"parallel must be False, 'threads', 'processes', 'dask', a "
                    f"distributed.Client or a concurrent.futures.Executor, got {parallel!r}"
                )
            try:
                if _is_process_pool(executor):
                    check_pool_picklable(func, items[0])
                # ~100 batches: few round trips, and a short tail when the last ones run.
                size = max(1, min(64, len(items) // 100)) if _is_process_pool(executor) else 1
                starts = range(0, len(items), size)
                futures = {
                    executor.submit(_run_batch, func, items[i : i + size]): i for i in starts
                }
                for fut in cf.as_completed(futures):
                    batch = [unwrap(r, stacklevel=3) for r in fut.result()]
                    start = futures[fut]
                    results[start : start + len(batch)] = batch
                    bar.update(len(batch))
            finally:
                if own:
                    executor.shutdown(wait=True, cancel_futures=True)
    finally:
        bar.close()
    return results
