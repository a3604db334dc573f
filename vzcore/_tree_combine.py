"""Scanning and combining many files on a dask.distributed cluster, as a tree reduction.

With ``parallel=`` a :class:`distributed.Client` (or ``"dask"`` while a Client is active),
:func:`open_on_cluster` runs the whole of ``open_virtual_mfdataset`` on the workers:

1. one task per batch of consecutive files scans them (retrying transient remote failures,
   see :func:`scan_file`) and, when they are already in combined order, combines them in
   the worker (:func:`~vzcore._pool_combine.scan_and_combine_batch`, the process-pool
   path's task); the result stays on the worker, in compact form (:mod:`vzcore._compact`)
   whenever it travels;
2. a second, tiny task per batch sends the client the batch's
   :class:`~vzcore._summaries.SummaryTable` (columns of a few numbers per file: its data
   variables, the length, first and last value of each indexed coordinate; and the
   failures and vzcore warnings of its scan), which drives the progress bar and ``errors=``
   and whose warnings the client warns again (:mod:`vzcore._worker_warnings`);
3. from the summaries the client orders the files (by coordinate values for
   ``combine="by_coords"``, as given for ``"nested"``), uses each combined batch whose
   files form a run of that order as one piece and each other file as its own piece, then
   submits combine tasks over groups of ``fan_in`` consecutive pieces, then over groups of
   those, ... to one; each task runs :func:`~vzcore._combine.combine_virtual` (every check
   included) on a worker. Combined batches that cannot be used so (batches that
   interleave, a layout combined at once) are scanned again, file by file.

The client holds futures and the summaries' columns (tens of bytes per file), never a
per-file object; only the final result travels to it. Combining in stages gives the same dataset as combining all files at once
when the files tile one dimension in order. Attributes combined with
``combine_attrs="drop_conflicts"`` (the default) are kept associative by carrying, with each
partial result, the attribute names already dropped below it. Layouts for which staging is
not known to be exact (several concatenation dimensions, files with different variables,
overlapping or tied coordinates, a new dimension, callable ``combine_attrs``) are combined
in one task on a worker, still off the client. (``preprocess=`` and N-D nested lists take
the executor path of :mod:`vzcore._executors` instead.)
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import os
import time
import warnings
from collections.abc import Callable, Container, Hashable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import xarray as xr

from vzcore._compact import CompactDataset, expand, to_compact
from vzcore._summaries import Summary, SummaryTable
from vzcore._worker_warnings import Note, raise_again
from vzcore.errors import VZError, VZSkippedFilesWarning

if TYPE_CHECKING:
    from vzcore._pool_combine import BatchResult
    from vzcore._raw_values import RawPiece

__all__ = [
    "DEFAULT_RETRIES",
    "Failed",
    "Summary",
    "check_virtual",
    "is_transient",
    "open_on_cluster",
    "resolve_client",
    "scan_file",
    "scanned_files",
]

DEFAULT_RETRIES = 2
"""Extra attempts per file after a transient failure (see :func:`is_transient`)."""

_BACKOFF = 0.2
"""Seconds before the first retry; doubled at each next one."""

FAN_IN = 128
"""Results combined by one task of the tree (128 against 32: 1.46-1.48x serial at 10^7
references on 2 workers against 1.37x, CPU -8%; benchmarks/README.md)."""

SCAN_BATCH = 254
"""Files per scan task at most (each task costs its worker ~2.4 ms between tasks at 10^7
references on 2 workers; the last tasks are smaller, see :func:`_batch_starts`). 254: a
combined batch's path index stays one byte per chunk (254 paths and two sentinels)."""

_PERMANENT_OS_ERRORS = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)


def is_transient(err: BaseException) -> bool:
    """Tell whether a scan failure may pass on a retry: a timeout or a connection problem.

    Never a :class:`~vzcore.errors.VZError` (the file itself is the problem), a missing
    file or a permission error. Retried: other ``OSError`` (reset connections, timeouts),
    the HTTP client's (aiohttp's) connection and payload errors, and HTTP answers that
    say "try again" (408, 429, 500, 502, 503, 504).
    """
    if isinstance(err, (VZError, *_PERMANENT_OS_ERRORS)):
        return False
    if isinstance(err, OSError):  # TimeoutError and ConnectionError included
        return True
    kind = type(err)
    if not kind.__module__.startswith("aiohttp"):
        return False
    status = getattr(err, "status", None)
    if isinstance(status, int):
        return status in _RETRY_STATUS
    names = {k.__name__ for k in kind.__mro__}
    return bool(names & {"ClientConnectionError", "ClientPayloadError", "ServerTimeoutError"})


_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Failed:
    """A file that could not be scanned (travels back from workers instead of raising)."""

    path: str
    error: BaseException


def scan_file(
    item: tuple[Any, dict[str, Any]],
    retries: int = DEFAULT_RETRIES,
    opener: Callable[..., xr.Dataset] | None = None,
) -> xr.Dataset | Failed:
    """Open one file as a virtual dataset; return :class:`Failed` instead of raising.

    Transient failures (:func:`is_transient`) are retried ``retries`` times, after 0.2 s,
    0.4 s, ...; a VZError or a permanent OSError is returned at once.
    """
    if opener is None:
        from vzcore.api import open_virtual_dataset

        opener = open_virtual_dataset
    path, kwargs = item
    for attempt in range(retries + 1):
        try:
            return opener(path, **kwargs)
        except Exception as err:  # any failure travels back as data; see below
            if attempt < retries and is_transient(err):
                time.sleep(_BACKOFF * 2**attempt)
                continue
            if isinstance(err, VZError | OSError) or is_transient(err):
                return Failed(os.fspath(path), err)  # errors= decides
            raise
    raise AssertionError("unreachable")  # pragma: no cover


# -- on the workers -------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """A (partial) combine result on a worker: the dataset and what it was made of.

    On the worker that made it, the dataset stays an xarray object (no conversion when the
    next combine runs there too); whenever it is pickled (sent to another worker or to the
    client) it travels in compact form and is rebuilt only where it is used.
    """

    data: xr.Dataset | CompactDataset
    first: str
    """Label of the first file in it (messages)."""
    last: str
    dropped: dict[Hashable | None, frozenset[str]] = field(default_factory=dict)
    """Attribute names dropped as conflicting below this node, per variable (None: the
    dataset's), for ``combine_attrs="drop_conflicts"``."""
    stored: dict[Hashable, RawPiece] = field(default_factory=dict)
    """Stored values of loaded variables concatenated below this node, joined into one piece
    (:func:`vzcore._raw_values.joined`; registered again wherever the part is unpickled), so
    that the process writing the result writes them back as the serial path does."""

    def __reduce__(self) -> tuple[Any, ...]:
        data = to_compact(self.data) if isinstance(self.data, xr.Dataset) else self.data
        return (Part, (data, self.first, self.last, self.dropped, self.stored))

    def dataset(self) -> xr.Dataset:
        """Return the dataset (rebuilt from the compact form when it travelled)."""
        return self.data if isinstance(self.data, xr.Dataset) else expand(self.data)

    @property
    def label(self) -> str:
        return self.first if self.first == self.last else f"{self.first} … {self.last}"


def _batch_summaries(result: BatchResult) -> tuple[SummaryTable, bool]:
    """On the worker: what the client needs of a scanned batch (its files, and whether combined)."""
    return result.summaries, result.part is not None


def _pick(result: BatchResult, index: int | None) -> Part:
    """Return a batch's combined part (``index`` None) or its file number ``index``'s part."""
    if index is None:
        assert result.part is not None  # planned only for combined batches
        return result.part
    part = result.parts.get(index)
    if part is None:  # scanned the first time, not when scanned again file by file
        path, error = result.summaries.failed[index]
        raise VZError(
            f"{path!r} was scanned once but failed when scanned again to combine "
            f"it file by file: {error}"
        ) from error
    return part


def _combine_picks(
    batches: list[BatchResult],
    picks: list[tuple[int, int | None]],
    options: dict[str, Any],
    root: bool = False,
) -> Part:
    """Combine the picked parts, ``(batch position, file number or None)``, in that order."""
    return _combine_parts([_pick(batches[b], i) for b, i in picks], options, root)


def _summary(index: int, path: str, part: Part | Failed, notes: tuple[Note, ...] = ()) -> Summary:
    if isinstance(part, Failed):
        return Summary(index, path, failed=part.error, notes=notes)
    ds = part.dataset()
    variables, indexes = ds.variables, ds.xindexes
    coords = {}
    for name in indexes:
        var = variables[name]
        if var.dims == (name,) and var.size:
            values = var.values
            coords[str(name)] = (len(values), values[0], values[-1])
    data_vars = tuple(sorted(str(n) for n in ds.data_vars))
    virtual = tuple(str(n) for n in ds.coords if n not in indexes and variables[n].dims == (n,))
    return Summary(index, path, data_vars=data_vars, coords=coords, virtual=virtual, notes=notes)


def warn_skipped(failed: list[tuple[Any, BaseException | None]], stacklevel: int) -> None:
    """Warn once, naming every file left out and why (``errors="warn"``).

    ``stacklevel`` counts from the caller, as in :func:`warnings.warn`.
    """
    listing = "; ".join(f"{path!r}: {error}" for path, error in failed)
    warnings.warn(
        f"skipped {len(failed)} file(s) that could not be scanned: {listing}",
        VZSkippedFilesWarning,
        stacklevel=stacklevel + 1,
    )


def scanned_files(
    summaries: SummaryTable, errors: str
) -> tuple[SummaryTable, list[tuple[str, BaseException]]]:
    """Split summaries into the scanned files and the failed ones' ``(path, error)``.

    Applies ``errors=``: ``"raise"`` raises the first file's error, ``"warn"`` warns once
    naming every failed file (``VZSkippedFilesWarning``, at the caller of
    ``open_virtual_mfdataset``), and any other value skips them silently; no file left is a
    :class:`VZError`.
    """
    failed = summaries.failures()
    if failed and errors == "raise":
        raise failed[0][1]
    if failed and errors == "warn":
        warn_skipped(list(failed), stacklevel=4)
    kept = summaries.kept()
    if not len(kept):
        raise VZError("none of the files could be scanned") from failed[0][1]
    return kept, failed


def check_virtual(kept: SummaryTable) -> None:
    """Refuse ``combine="by_coords"`` over virtual dimension coordinates, saying what to do.

    Ordering files by coordinate values needs those values: a dimension coordinate left out
    of ``loadable_variables`` is virtual and has no index.
    """
    for number in sorted(kept.virtual):
        path, virtual = kept.virtual[number]
        raise VZError(
            f"combine='by_coords' orders files by the values of their dimension "
            f"coordinates, but {list(virtual)} in {path!r} are virtual (not in "
            "loadable_variables), so their values are not known. Load them "
            f"(loadable_variables=[..., {virtual[0]!r}]) or give the order yourself: "
            "combine='nested', concat_dim=<dimension>."
        )


def _attr_sets(ds: xr.Dataset) -> dict[Hashable | None, set[str]]:
    out: dict[Hashable | None, set[str]] = {None: set(ds.attrs)}
    for name, var in ds.variables.items():
        out[name] = set(var.attrs)
    return out


def _combine_parts(parts: Sequence[Part], options: dict[str, Any], root: bool = False) -> Part:
    """Combine consecutive parts with the same checks and rules as the serial path.

    Under :func:`~vzcore._memory.scan_allocator`: on a dask worker (whose allocator
    thresholds the nanny fixed) the combine's per-part temporaries would otherwise each be
    a fresh mapping, faulted in and unmapped (the root of 10^7 references: 31,000 page
    faults and 0.10 s against 2,400 and 0.05 s). The ``root`` of the tree, whose result
    only goes to the client in slices, leaves its manifests' concatenations unjoined
    (:func:`~vzcore.manifests.joined.joining_later`: 0.2 s and the result's size in fresh
    memory at 10^7 references); the slices are cut from the parts' arrays.
    """
    from vzcore._combine import combine_virtual
    from vzcore._memory import scan_allocator
    from vzcore.manifests.joined import joining_later

    if len(parts) == 1:
        return parts[0]
    datasets = [p.dataset() for p in parts]
    combine = options["combine"]
    kwargs = {k: v for k, v in options.items() if k != "combine"}
    later = joining_later() if root else contextlib.nullcontext()
    with scan_allocator(), later:
        result = combine_virtual(
            datasets,
            [p.label for p in parts],
            combine=combine,
            nested=datasets if combine == "nested" else None,
            **kwargs,
        )
    dropped: dict[Hashable | None, frozenset[str]] = {}
    if options.get("combine_attrs", "drop_conflicts") == "drop_conflicts":
        below: dict[Hashable | None, set[str]] = {}
        for p in parts:
            for key, gone in p.dropped.items():
                below.setdefault(key, set()).update(gone)
        for ds in datasets:  # names some part had that the combine dropped now
            for key, present in _attr_sets(ds).items():
                have = (
                    result.attrs
                    if key is None
                    else (result.variables[key].attrs if key in result.variables else None)
                )
                if have is not None:
                    below.setdefault(key, set()).update(n for n in present if n not in have)
        for key, names in below.items():
            target = (
                result.attrs
                if key is None
                else (result.variables[key].attrs if key in result.variables else None)
            )
            if target is None:
                continue
            for n in names:
                target.pop(n, None)
            dropped[key] = frozenset(names)
    return Part(result, parts[0].first, parts[-1].last, dropped, _joined(result, parts, datasets))


def _joined(
    result: xr.Dataset, parts: Sequence[Part], datasets: list[xr.Dataset]
) -> dict[Hashable, RawPiece]:
    """Join the stored-value pieces of the 1-D loaded variables the combine concatenated."""
    from vzcore._raw_values import ENCODING_KEY, joined

    out: dict[Hashable, RawPiece] = {}
    for name, var in result.variables.items():
        if var.ndim != 1 or ENCODING_KEY not in var.encoding:
            continue
        pieces = []
        for part, ds in zip(parts, datasets, strict=True):
            own = ds.variables[name].encoding.get(ENCODING_KEY) if name in ds.variables else None
            piece = part.stored.get(name, own)
            if piece is None:
                break
            pieces.append(piece)
        else:
            if sum(p.decoded.shape[0] for p in pieces) == var.shape[0]:  # concatenated
                piece = joined(pieces)
                if piece is not None:
                    out[name] = piece
    return out


# -- on the client --------------------------------------------------------------------------


def resolve_client(parallel: Any) -> Any | None:
    """Return the dask.distributed Client to use for ``parallel``, or None.

    A Client is used as it is; ``"dask"`` means the active Client, if there is one.
    distributed is imported only for ``"dask"`` (0.2 s and 15 MiB that no other mode needs:
    a Client exists only once distributed has been imported).
    """
    from vzcore._executors import _is_client

    if isinstance(parallel, str) and parallel == "dask":
        try:
            from distributed import get_client
        except ImportError:
            return None
        try:
            return get_client()
        except ValueError:  # no active Client: dask's local scheduler (see _executors)
            return None
    return parallel if _is_client(parallel) else None


def open_on_cluster(
    client: Any,
    flat_paths: list[Any],
    open_kwargs: dict[str, Any],
    *,
    combine: str,
    concat_dim: Any,
    errors: str,
    retries: int,
    progress: Any,
    combine_options: dict[str, Any],
    fan_in: int | None = None,
) -> xr.Dataset:
    """Run ``open_virtual_mfdataset`` on the cluster of ``client`` (module docstring)."""
    from distributed import as_completed

    from vzcore._executors import _progress, check_client_picklable
    from vzcore._pool_combine import scan_and_combine_batch
    from vzcore.api import open_virtual_dataset

    options = {"combine": combine, "concat_dim": concat_dim, **combine_options}
    check_client_picklable((open_kwargs, options))
    fan_in = FAN_IN if fan_in is None else fan_in
    n = len(flat_paths)
    starts = _batch_starts(n, len(client.scheduler_info().get("workers", {})), SCAN_BATCH)

    def scan(numbers: list[int], combine_batch: bool) -> Any:
        paths = [flat_paths[i] for i in numbers]
        return client.submit(
            scan_and_combine_batch,
            numbers,
            paths,
            open_virtual_dataset,
            open_kwargs,
            retries,
            options,
            combine_batch,
            pure=False,
        )

    bar = _progress(n, progress)
    tables: list[SummaryTable | None] = []
    combined: list[bool] = []
    try:
        batches = [scan(list(range(a, b)), True) for a, b in itertools.pairwise(starts)]
        futures = {client.submit(_batch_summaries, b, pure=False): k for k, b in enumerate(batches)}
        tables, combined = [None] * len(batches), [False] * len(batches)
        for fut in as_completed(futures, loop=client.loop):  # type: ignore[no-untyped-call]  # distributed is untyped
            got, combined[futures[fut]] = fut.result()
            tables[futures[fut]] = got
            bar.update(len(got))
    finally:
        bar.close()
    summaries = SummaryTable.join([t for t in tables if t is not None])  # in file order
    raise_again(summaries.all_notes(), stacklevel=3)
    kept, failed = scanned_files(summaries, errors)
    if combine == "by_coords":
        check_virtual(kept)
    staged = not callable(combine_options.get("combine_attrs")) and not (
        combine == "nested" and _new_dim(concat_dim, kept)
    )
    order = kept.order(combine) if staged else None
    sequence = kept.index.tolist() if order is None else kept.index[order].tolist()
    pieces = None if order is None else _plan(sequence, summaries.failed, combined, starts)
    if pieces is None:  # every file on its own: combined batches are scanned again
        for b, was in enumerate(combined):
            if was:
                batches[b] = scan(list(range(starts[b], starts[b + 1])), False)
        pieces = [(_batch_of(starts, i), i) for i in sequence]
    group = len(pieces) if order is None else fan_in  # None: one task over every file
    level = []
    for g in range(0, len(pieces), group):
        used: dict[int, int] = {}  # batch number -> its position among this task's inputs
        picks = [(used.setdefault(b, len(used)), i) for b, i in pieces[g : g + group]]
        root = len(pieces) <= group
        level.append(
            client.submit(
                _combine_picks, [batches[b] for b in used], picks, options, root, pure=False
            )
        )
    while len(level) > 1:
        root = len(level) <= fan_in
        level = [
            client.submit(_combine_parts, level[i : i + fan_in], options, root, pure=False)
            for i in range(0, len(level), fan_in)
        ]
    from vzcore._fetch_result import fetch_result
    from vzcore._memory import release_free_memory

    result = fetch_result(client, level[0])  # in slices: the client never holds it twice
    # only now may the workers release the batches' results: freeing them (~10^7 references
    # in 10^4 files: 0.1 s) delays the fetch when it runs in the worker's event loop meanwhile
    del batches, futures, level
    release_free_memory()  # the slices' buffers, freed in the comm thread's arena
    if failed:
        result.encoding["skipped_files"] = [path for path, _ in failed]
    return result


def _plan(
    sequence: list[int], failed: Container[int], combined: list[bool], starts: Sequence[int]
) -> list[tuple[int, int | None]] | None:
    """Return the pieces to combine in ``sequence`` order, or None when a batch cannot be used.

    Batch ``b`` holds files ``starts[b]`` to ``starts[b + 1] - 1``. A piece is ``(batch,
    None)`` for a combined batch, used as it is where its scanned files (those not
    ``failed``) form a run of the sequence, or ``(batch, file number)`` for a file of a batch
    that was not combined.
    """
    pieces: list[tuple[int, int | None]] = []
    k = 0
    while k < len(sequence):
        index = sequence[k]
        b = _batch_of(starts, index)
        if not combined[b]:
            pieces.append((b, index))
            k += 1
            continue
        files = [i for i in range(starts[b], starts[b + 1]) if i not in failed]
        if sequence[k : k + len(files)] != files:
            return None
        pieces.append((b, None))
        k += len(files)
    return pieces


def _batch_of(starts: Sequence[int], index: int) -> int:
    """Return the number of the batch (see :func:`_plan`) that holds file ``index``."""
    return bisect.bisect_right(starts, index) - 1


def _batch_starts(n: int, workers: int, largest: int) -> list[int]:
    """Return where each scan task's files begin, then ``n``: the last tasks are smaller.

    Tasks take ``largest`` files, or fewer so that each worker has at least 8 tasks; once
    the files left would fill fewer than 4 such tasks per worker, each takes a quarter of
    a worker's share of what is left (down to an eighth of the first size), so that the
    workers finish within a small task of each other instead of up to a whole one.
    """
    workers = max(1, workers)
    size = max(1, min(largest, n // (8 * workers)))
    smallest = -(-size // 8)
    starts = []
    at = 0
    while at < n:
        starts.append(at)
        at += min(size, max(smallest, -(-(n - at) // (4 * workers))))
    return [*starts, n]


def _new_dim(concat_dim: Any, kept: SummaryTable) -> bool:
    dims = [concat_dim] if isinstance(concat_dim, str) else list(concat_dim or [])
    return any(d not in kept.dims(0) for d in dims)
