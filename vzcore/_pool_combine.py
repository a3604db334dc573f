"""Scanning and combining many files on a process pool: each task scans and combines a batch.

With ``parallel="processes"`` (or a :class:`concurrent.futures.ProcessPoolExecutor`),
:func:`open_on_pool` gives each task a batch of consecutive files. The task scans them
(retrying transient failures, :func:`~vzcore._tree_combine.scan_file`) and, when staged
combining is exact for them (see below), combines them itself with
:func:`~vzcore._combine.combine_virtual` (every check of the serial path), so that one
compact dataset (:mod:`vzcore._compact`: a few numpy buffers per variable) per batch comes
back, with the batch's :class:`~vzcore._summaries.SummaryTable` (a few numbers per file).
The calling process then
only orders and combines one part per batch: the scan and nearly all of the combining run
in the workers.

A batch is combined in its worker when its files, as given, are already in combined order
(by their coordinate values for ``combine="by_coords"``; always for ``"nested"`` along an
existing dimension) under the same rules as the cluster path (:mod:`vzcore._tree_combine`).
Otherwise (files given out of order, files with different variables, a failed combine) its
files come back one by one, as before. The calling process uses a combined batch as it is
only where its files form a run of the global order; when they do not (batches that
interleave), or when the layout is one that is combined at once (several concatenation
dimensions, a new dimension, ...), those batches are scanned again, file by file, and
everything is combined at once as in the serial path. The result equals the serial
combine in every case; a layout that needs the fallback pays a second scan of the
combined batches.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import xarray as xr

from vzcore._executors import check_pool_picklable
from vzcore._summaries import Summary, SummaryTable
from vzcore._tree_combine import (
    Failed,
    Part,
    _batch_of,
    _batch_starts,
    _combine_parts,
    _new_dim,
    _pick,
    _plan,
    _summary,
    check_virtual,
    scan_file,
    scanned_files,
)
from vzcore._worker_warnings import noting, raise_again

__all__ = ["BatchResult", "batch_starts", "open_on_pool", "scan_and_combine_batch"]

MAX_BATCH = 64
"""Files per task at most: the progress bar moves at least every 64 files."""


@dataclass(frozen=True)
class BatchResult:
    """What one batch task returns (pickled back to the calling process)."""

    summaries: SummaryTable
    """One row per file of the batch, failed ones included, in the order given."""
    part: Part | None
    """The batch's scanned files combined, in the order given; None when not combined."""
    parts: dict[int, Part]
    """File index -> its own (uncombined) part, when ``part`` is None."""


def batch_starts(n: int, workers: int) -> list[int]:
    """Return where each task's files begin, then ``n``.

    At most :data:`MAX_BATCH` files per task, at least 8 tasks per worker, the last tasks
    smaller (see :func:`vzcore._tree_combine._batch_starts`).
    """
    return _batch_starts(n, workers, MAX_BATCH)


def _stages(combine: str, concat_dim: Any, options: dict[str, Any], kept: SummaryTable) -> bool:
    """Tell whether staged combining may be exact for ``kept`` (the cluster path's rule)."""
    if callable(options.get("combine_attrs")) or not len(kept):
        return False
    return not (combine == "nested" and _new_dim(concat_dim, kept))


def scan_and_combine_batch(
    indexes: list[int],
    paths: list[Any],
    opener: Callable[..., xr.Dataset],
    kwargs: dict[str, Any],
    retries: int,
    options: dict[str, Any],
    combine_batch: bool,
) -> BatchResult:
    """Scan ``paths`` (the files numbered ``indexes``) and combine them if that is exact.

    Runs in a worker process. ``combine_batch`` False scans the files again, file by file
    (after a first scan combined them): their warnings were given by the first scan. The
    vzcore warnings of a worker process travel in the summaries (:mod:`vzcore._worker_warnings`).
    A combine that fails is not raised here: the files come back
    one by one and the calling process's combine of all files raises the serial path's
    error.
    """
    from vzcore._memory import scan_allocator

    with scan_allocator():  # a dask worker's fixed mmap threshold costs ~20% (see there)
        summaries: list[Summary] = []
        kept: list[tuple[Summary, Part]] = []
        for index, path in zip(indexes, paths, strict=True):
            with noting(repeated=not combine_batch) as noted:  # worker warnings, for the caller
                scanned = scan_file((path, kwargs), retries, opener)
            label = os.fspath(path)
            if isinstance(scanned, Failed):
                summaries.append(_summary(index, label, scanned, tuple(noted)))
                continue
            part = Part(scanned, label, label)
            summary = _summary(index, label, part, tuple(noted))
            summaries.append(summary)
            kept.append((summary, part))
        combine = options["combine"]
        table = SummaryTable.of(summaries)
        if combine_batch and len(kept) > 1:
            ks = table.kept()
            if (
                _stages(combine, options.get("concat_dim"), options, ks)
                and not ks.virtual
                and ks.order(combine) == list(range(len(ks)))
            ):
                try:
                    return BatchResult(table, _combine_parts([p for _, p in kept], options), {})
                except Exception:  # noqa: BLE001, S110  # the combine of all files raises it again
                    pass
        return BatchResult(table, None, {s.index: p for s, p in kept})


def _run(
    executor: cf.Executor,
    flat_paths: list[Any],
    batches: list[list[int]],
    args: tuple[Any, ...],
    combine_batch: bool,
    bar: Any,
) -> list[BatchResult]:
    """Submit one task per batch of file numbers; return their results in the same order."""
    futures = {
        executor.submit(
            scan_and_combine_batch,
            batch,
            [flat_paths[i] for i in batch],
            *args,
            combine_batch,  # type: ignore[call-arg]  # typeshed's submit(fn, /, *args) confuses mypy
        ): b
        for b, batch in enumerate(batches)
    }
    results: list[BatchResult | None] = [None] * len(batches)
    try:
        for fut in cf.as_completed(futures):
            got = fut.result()
            results[futures[fut]] = got
            if bar is not None:
                bar.update(len(got.summaries))
    except BaseException:
        for fut in futures:
            fut.cancel()
        raise
    return results  # type: ignore[return-value]  # every slot was filled


def open_on_pool(
    executor: cf.Executor,
    flat_paths: list[Any],
    opener: Callable[..., xr.Dataset],
    kwargs: dict[str, Any],
    *,
    combine: Literal["by_coords", "nested"],
    concat_dim: Any,
    errors: str,
    retries: int,
    bar: Any,
    combine_options: dict[str, Any],
    workers: int,
) -> xr.Dataset:
    """Run ``open_virtual_mfdataset`` with batches scanned and combined on ``executor``.

    ``opener(path, **kwargs)`` opens one file; ``bar`` is the progress bar (files).
    """
    from vzcore._combine import combine_virtual

    n = len(flat_paths)
    starts = batch_starts(n, workers)
    options = {"combine": combine, "concat_dim": concat_dim, **combine_options}
    args = (opener, kwargs, retries, _for_workers(options))
    if isinstance(executor, cf.ProcessPoolExecutor):
        check_pool_picklable(scan_and_combine_batch, args)
    numbers = [list(range(a, b)) for a, b in itertools.pairwise(starts)]
    batches = _run(executor, flat_paths, numbers, args, True, bar)
    summaries = SummaryTable.join([r.summaries for r in batches])  # in file order
    raise_again(summaries.all_notes(), stacklevel=4)
    kept, failed = scanned_files(summaries, errors)
    if combine == "by_coords":
        check_virtual(kept)
    order = kept.order(combine) if _stages(combine, concat_dim, options, kept) else None
    sequence = kept.index.tolist() if order is None else kept.index[order].tolist()
    combined = [r.part is not None for r in batches]
    planned = None if order is None else _plan(sequence, summaries.failed, combined, starts)
    if planned is None:  # every file on its own: combined batches are scanned again
        _rescan(executor, flat_paths, batches, numbers, args)
        planned = [(_batch_of(starts, i), i) for i in sequence]
    pieces = [_pick(batches[b], i) for b, i in planned]
    del batches
    if order is None or (len(pieces) == 1 and pieces[0].first == pieces[0].last):
        # one combine over every file, in the order given, as serially (a single file is
        # checked and combined alone too)
        datasets = [p.dataset() for p in pieces]
        del pieces
        result = combine_virtual(
            datasets,
            [os.fspath(flat_paths[i]) for i in sequence],
            combine=combine,
            nested=datasets if combine == "nested" else None,
            **_without_combine(options),
        )
        return _finish(result, failed)
    combined_ds = _combine_parts(pieces, options).dataset()
    del pieces  # before _finish gives the freed memory back
    return _finish(combined_ds, failed)


class _AppliedByCaller:
    """Stands in the workers for a ``combine_attrs`` callable, which only the caller applies.

    Batches are not combined in the workers when ``combine_attrs`` is callable
    (:func:`_stages`): the workers only need to know that it is one, and a lambda or a
    local function, which pickle cannot send, works as it does serially.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("combine_attrs is applied by the calling process")  # never called


def _for_workers(options: dict[str, Any]) -> dict[str, Any]:
    """Return the combine options as the worker tasks get them (see :class:`_AppliedByCaller`)."""
    if callable(options.get("combine_attrs")):
        return {**options, "combine_attrs": _AppliedByCaller()}
    return options


def _rescan(
    executor: cf.Executor,
    flat_paths: list[Any],
    batches: list[BatchResult],
    numbers: list[list[int]],
    args: tuple[Any, ...],
) -> None:
    """Scan the combined batches again, file by file, in place."""
    again = [b for b, r in enumerate(batches) if r.part is not None]
    for b, got in zip(
        again,
        _run(executor, flat_paths, [numbers[b] for b in again], args, False, None),
        strict=True,
    ):
        batches[b] = got


def _without_combine(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k != "combine"}


def _finish(result: xr.Dataset, failed: list[tuple[str, BaseException]]) -> xr.Dataset:
    from vzcore._memory import release_free_memory

    release_free_memory()  # the batches' parts, freed by now
    if failed:
        result.encoding["skipped_files"] = [path for path, _ in failed]
    return result
