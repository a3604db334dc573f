"""Checking that references still match the files they point into.

References outlive the files they point at: a file is rewritten, appended to, truncated,
deleted or replaced by another with the same name, and readers of the references then get
wrong bytes (fsspec returns short reads silently). :func:`verify` checks a virtual dataset
(or a ManifestGroup, or kerchunk references on disk) against the files as they are now:

* every referenced file still exists, and matches the size, modification time and ETag
  recorded when it was scanned (:class:`~vzcore.manifests.SourceInfo`; ETags win over
  modification times when both sides have one);
* every reference lies inside its file (``offset + length <= size``), checked with numpy
  on whole manifests, one ``stat`` per file;
* with ``deep=True``, every chunk is fetched and decoded through the codec pipeline.

It never stops at the first problem: the :class:`VerifyReport` lists them all.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from vzcore.errors import VZError, VZOtherReadersWarning
from vzcore.manifests import ManifestArray, SourceInfo

if TYPE_CHECKING:
    from vzcore.group import ManifestGroup

__all__ = [
    "BadChunk",
    "IntegrityError",
    "MissingFile",
    "OutOfRangeRef",
    "StaleFile",
    "VerifyReport",
    "verify",
]

_MTIME_TOLERANCE = 1e-3  # seconds: stores report milliseconds, JSON round trips floats
_SHOWN = 10  # entries of each kind that str(report) lists


class IntegrityError(VZError, OSError):
    """References no longer match their files (raised by :meth:`VerifyReport.raise_if_failed`)."""

    def __init__(self, report: VerifyReport) -> None:
        self.report = report
        super().__init__(str(report))


@dataclass(frozen=True)
class StaleFile:
    """A referenced file that changed since it was scanned."""

    url: str
    """The file."""
    recorded: SourceInfo
    """What the references recorded."""
    current: SourceInfo
    """What the file looks like now."""
    changes: tuple[str, ...]
    """What differs, e.g. ``"size 1024 -> 2048"``."""

    def __str__(self) -> str:
        return f"{self.url!r}: {'; '.join(self.changes)}"


@dataclass(frozen=True)
class MissingFile:
    """A referenced file that cannot be found (or stat'ed)."""

    url: str
    """The file."""
    reason: str
    """What the file system said."""

    def __str__(self) -> str:
        return f"{self.url!r}: {self.reason}"


@dataclass(frozen=True)
class _ChunkRef:
    """Where a reported chunk reference points."""

    variable: str
    """Path of the variable in the tree (``"group/var"``)."""
    chunk: tuple[int, ...]
    """Chunk grid index."""
    url: str
    """The file (``"<inline>"`` for bytes held in the manifest)."""
    offset: int
    """Byte offset of the chunk."""
    length: int
    """Byte length of the chunk."""


@dataclass(frozen=True)
class OutOfRangeRef(_ChunkRef):
    """A chunk reference that ends past the end of its file."""

    size: int
    """Size of the file now."""

    def __str__(self) -> str:
        return (
            f"{self.variable!r} chunk {self.chunk}: bytes {self.offset}..{self.offset + self.length}"
            f" of {self.url!r}, which has {self.size} bytes"
        )


@dataclass(frozen=True)
class BadChunk(_ChunkRef):
    """A chunk that could not be fetched or decoded (``deep=True``)."""

    error: str
    """Why it failed."""

    def __str__(self) -> str:
        return (
            f"{self.variable!r} chunk {self.chunk} ({self.url!r} offset {self.offset}, "
            f"{self.length} bytes): {self.error}"
        )


@dataclass
class VerifyReport:
    """What :func:`verify` found. ``ok`` is True when nothing is wrong."""

    deep: bool = False
    """Whether chunks were fetched and decoded."""
    files_checked: int = 0
    """Number of distinct referenced files."""
    refs_checked: int = 0
    """Number of chunk references (in files) whose byte range was checked."""
    chunks_decoded: int = 0
    """Number of chunks fetched and decoded without error (``deep=True``)."""
    stale: list[StaleFile] = field(default_factory=list)
    """Files that changed since they were scanned."""
    missing: list[MissingFile] = field(default_factory=list)
    """Files that no longer exist (or cannot be stat'ed)."""
    out_of_range: list[OutOfRangeRef] = field(default_factory=list)
    """References that end past the end of their file."""
    bad_chunks: list[BadChunk] = field(default_factory=list)
    """Chunks that failed to fetch or decode (``deep=True``)."""
    unrecorded: list[str] = field(default_factory=list)
    """Files without recorded size/mtime/ETag: only the byte ranges could be checked."""
    range_ignored: list[str] = field(default_factory=list)
    """HTTP(S) files whose server ignores ``Range`` requests: no reader of byte-range
    references can read them."""
    misread_elsewhere: list[str] = field(default_factory=list)
    """What the references' reader found that vzcore reads right but other clients would
    misread (a :class:`~vzcore.errors.VZOtherReadersWarning` each)."""

    @property
    def ok(self) -> bool:
        """True when no file is stale or missing and every reference is good."""
        return not (
            self.stale
            or self.missing
            or self.out_of_range
            or self.bad_chunks
            or self.range_ignored
            or self.misread_elsewhere
        )

    def raise_if_failed(self) -> None:
        """Raise :class:`IntegrityError` (with this report) unless :attr:`ok`."""
        if not self.ok:
            raise IntegrityError(self)

    def __str__(self) -> str:
        head = f"{self.files_checked} file(s), {self.refs_checked} reference(s) checked" + (
            f", {self.chunks_decoded} chunk(s) decoded" if self.deep else ""
        )
        if self.ok:
            lines = [f"verify: OK: {head}"]
        else:
            lines = [f"verify: FAILED: {head}"]
            for title, items, hint in (
                ("stale file(s)", self.stale, "re-scan them"),
                ("missing file(s)", self.missing, "restore them or re-point the references"),
                ("reference(s) past the end of their file", self.out_of_range, "re-scan"),
                ("chunk(s) that fail to fetch or decode", self.bad_chunks, "re-scan"),
                (
                    "file(s) on servers that ignore HTTP Range requests",
                    self.range_ignored,
                    "serve them from a server that answers byte ranges (206 Partial Content)",
                ),
                (
                    "part(s) of the references other clients would misread",
                    self.misread_elsewhere,
                    "write the references again with this vzcore",
                ),
            ):
                if items:
                    lines.append(f"{len(items)} {title} ({hint}):")
                    lines += [f"  {item}" for item in items[:_SHOWN]]
                    if len(items) > _SHOWN:
                        lines.append(f"  ... and {len(items) - _SHOWN} more")
        if self.unrecorded:
            lines.append(
                f"{len(self.unrecorded)} file(s) had no recorded size/mtime/ETag (byte ranges "
                "checked only)"
            )
        return "\n".join(lines)


def _compare(recorded: SourceInfo, current: SourceInfo) -> tuple[str, ...]:
    changes = []
    if recorded.size is not None and current.size is not None and recorded.size != current.size:
        changes.append(f"size {recorded.size} -> {current.size}")
    if recorded.etag is not None and current.etag is not None:
        if recorded.etag != current.etag:
            changes.append(f"ETag {recorded.etag} -> {current.etag}")
    elif (
        recorded.mtime is not None
        and current.mtime is not None
        and abs(recorded.mtime - current.mtime) > _MTIME_TOLERANCE
    ):
        before = datetime.fromtimestamp(recorded.mtime, UTC).isoformat()
        after = datetime.fromtimestamp(current.mtime, UTC).isoformat()
        changes.append(f"modified {before} -> {after}")
    return tuple(changes)


def _arrays(group: ManifestGroup) -> Iterator[tuple[str, ManifestArray]]:
    for path, g in group.walk():
        for name, var in g.variables.items():
            if isinstance(var.data, ManifestArray):
                yield (f"{path}/{name}" if path else name), var.data


def _follow_every_reference(given: dict[str, Any] | None) -> dict[str, Any]:
    """Return reader options, keyed by reader, that let a references reader follow all.

    The ``kerchunk`` reader's allow-list guards handing data from foreign references to a
    caller; verify hands none out: it stats the referenced files and decodes the byte
    ranges it checks. So a user's own references verify wherever they are, unless the
    caller gives an allow-list (flat options, or under ``"kerchunk"``).
    """
    from vzcore._open_options import is_keyed

    flat = dict(given or {})
    keyed = {k: dict(v) for k, v in flat.items()} if flat and is_keyed(flat) else {"kerchunk": flat}
    refs = keyed.setdefault("kerchunk", {})
    if not {"allowed_prefixes", "allowed_protocols"} & set(refs):
        refs["allowed_prefixes"] = ["*"]
    return keyed


def _to_group(
    target: Any,
    storage_options: dict[str, Any] | None,
    reader_options: dict[str, Any] | None,
    reader: str | None = None,
) -> ManifestGroup:
    from vzcore.group import ManifestGroup

    if isinstance(target, str | os.PathLike):
        from vzcore.api import read_group

        # The reader is found like for any other file (magic bytes, then the name).
        return read_group(
            target,
            reader=reader,
            storage_options=storage_options,
            reader_options=_follow_every_reference(reader_options),
        )
    if not isinstance(target, ManifestGroup):
        import xarray as xr

        if not isinstance(target, xr.Dataset | xr.DataTree):
            raise TypeError(
                "verify() takes a virtual xarray Dataset or DataTree, a ManifestGroup, or the "
                f"path of kerchunk references; got {type(target).__name__}"
            )
    if reader_options is not None or reader is not None:
        given = " and ".join(
            name
            for name, v in (("reader", reader), ("reader_options", reader_options))
            if v is not None
        )
        raise TypeError(
            f"verify() got {given} for a {type(target).__name__}, which was read already: "
            "they apply only when the target is the path of references. Give them when "
            "opening it (open_virtual_dataset(path, reader_options=...)), or pass the path "
            "to verify()"
        )
    if isinstance(target, ManifestGroup):
        return target
    from vzcore._from_xarray import dataset_to_group, datatree_to_group

    return (
        datatree_to_group(target) if isinstance(target, xr.DataTree) else dataset_to_group(target)
    )


def verify(
    target: Any,  # xr.Dataset | xr.DataTree | ManifestGroup | path: xarray is imported lazily
    *,
    deep: bool = False,
    storage_options: dict[str, Any] | None = None,
    reader_options: dict[str, Any] | None = None,
    reader: str | None = None,
) -> VerifyReport:
    """Check that references still match the files they point into.

    Parameters
    ----------
    target
        A virtual :class:`xarray.Dataset` or :class:`xarray.DataTree`, a
        :class:`~vzcore.ManifestGroup`, or the path/URL of kerchunk references (JSON or
        Parquet; vz-kerchunk's reader is found for them like for any file, see ``reader``).
    deep
        Also fetch and decode every chunk (reads all referenced bytes).
    storage_options
        fsspec options for the referenced files (and for the references' path).
    reader_options
        Options of the ``"kerchunk"`` reader when ``target`` is a path. References are
        checked wherever they point (verify returns no data, so the reader's allow-list of
        URLs is not applied) unless ``allowed_prefixes`` or ``allowed_protocols`` is given
        here, e.g. ``{"allowed_prefixes": ["s3://bucket/data/"]}`` to refuse the rest.
        Codecs that unpickle stay refused unless ``{"allow_pickle": True}``.
    reader
        The reader of ``target`` when it is a path; None finds it as
        :func:`open_virtual_dataset` does (magic bytes, then the name: ``.json``,
        ``.parq``/``.parquet`` for kerchunk references).

    Raises
    ------
    TypeError
        ``reader`` or ``reader_options`` given for a target that is not a path (a dataset,
        DataTree or ManifestGroup was read already: give them when opening it).

    Returns
    -------
    VerifyReport
        Every problem found; ``report.ok`` is True when there is none, and
        ``report.raise_if_failed()`` raises :class:`IntegrityError` otherwise.

    Examples
    --------
    >>> report = vzcore.verify("combined.json")  # doctest: +SKIP
    >>> print(report)  # doctest: +SKIP
    verify: FAILED: 12 file(s), 480 reference(s) checked
    1 stale file(s) (re-scan them):
      'file:///data/day3.nc': size 22684 -> 22690; modified 2026-... -> 2026-...
    """
    from vzcore._file_access import check_url_ranges, stat_source
    from vzcore._urls import sync_storage_options
    from vzcore.errors import RangeRequestsIgnoredError

    storage_options = sync_storage_options(storage_options) if storage_options else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", VZOtherReadersWarning)
        group = _to_group(target, storage_options, reader_options, reader)
    report = VerifyReport(deep=deep)
    for w in caught:
        if issubclass(w.category, VZOtherReadersWarning):
            report.misread_elsewhere.append(str(w.message))
        else:  # not verify's business: pass it on as it was raised
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    arrays = list(_arrays(group))
    recorded = group.sources()

    urls = sorted({p for _, a in arrays for p in a.manifest.paths})
    report.files_checked = len(urls)
    sizes: dict[str, int | None] = {}
    for url in urls:
        try:
            current = stat_source(url, storage_options)
        except FileNotFoundError:
            report.missing.append(MissingFile(url, "no such file"))
            continue
        except OSError as err:  # permissions, network: the file cannot be checked
            report.missing.append(MissingFile(url, f"{type(err).__name__}: {err}"))
            continue
        known = recorded.get(url)
        if known is None:
            report.unrecorded.append(url)
        else:
            changes = _compare(known, current)
            if changes:
                report.stale.append(StaleFile(url, known, current, changes))
        size = current.size if current.size is not None else (known.size if known else None)
        sizes[url] = size
        try:
            check_url_ranges(url, storage_options)
        except RangeRequestsIgnoredError:
            report.range_ignored.append(url)
        except OSError as err:  # the file went away between the two requests
            report.missing.append(MissingFile(url, f"{type(err).__name__}: {err}"))

    skip: dict[str, np.ndarray] = {}  # per variable, chunks not to decode (already reported)
    for name, array in arrays:
        m = array.manifest
        if not m.paths:
            continue
        n_paths = len(m.paths)
        pi = m.path_index
        real = pi < n_paths
        report.refs_checked += int(np.count_nonzero(real))
        # Per path: its size now (-1: missing or unknown, excluded from the range check).
        lut = np.array(
            [s if (s := sizes.get(p)) is not None else -1 for p in m.paths] + [-1, -1],
            dtype=np.int64,
        )
        codes = np.minimum(pi, n_paths).astype(np.intp)
        file_size = lut[codes]
        ends = m.offsets.astype(np.uint64) + m.lengths  # uint32 + uint32 could wrap
        bad = real & (file_size >= 0) & (ends > file_size.astype(np.uint64))
        unreadable = [
            i for i, p in enumerate(m.paths) if p not in sizes or p in report.range_ignored
        ]
        gone = real & np.isin(codes, unreadable)
        skip[name] = bad | gone
        for flat in np.flatnonzero(bad).tolist():
            idx = tuple(int(i) for i in np.unravel_index(flat, m.grid_shape))
            report.out_of_range.append(
                OutOfRangeRef(
                    name,
                    idx,
                    m.paths[int(pi.flat[flat])],
                    int(m.offsets.flat[flat]),
                    int(m.lengths.flat[flat]),
                    int(file_size.flat[flat]),
                )
            )
    if deep:
        _deep(arrays, skip, report, storage_options)
    return report


def _deep(
    arrays: list[tuple[str, ManifestArray]],
    skip: dict[str, np.ndarray],
    report: VerifyReport,
    storage_options: dict[str, Any] | None,
) -> None:
    """Fetch and decode every chunk not already reported; record the failures."""
    from vzcore._file_access import open_url
    from vzcore.manifests.loading import decode_chunk, read_chunk

    handles: dict[str, Any] = {}
    try:
        for name, array in arrays:
            m = array.manifest
            skipped = skip.get(name)
            for idx, ref in m.iter_refs():
                if skipped is not None and skipped.ndim and bool(skipped[idx]):
                    continue
                if skipped is not None and not skipped.ndim and bool(skipped):
                    continue
                if isinstance(ref, bytes):
                    url, offset, length = "<inline>", 0, len(ref)
                else:
                    url, offset, length = ref
                try:
                    if isinstance(ref, bytes):
                        raw = ref
                    else:
                        f = handles.get(url)
                        if f is None:
                            f = handles[url] = open_url(url, storage_options)
                        raw = read_chunk(f, url, offset, length)
                    decode_chunk(raw, array.metadata, url, index=idx, name=name)
                except (VZError, OSError) as err:
                    report.bad_chunks.append(BadChunk(name, idx, url, offset, length, str(err)))
                else:
                    report.chunks_decoded += 1
    finally:
        for f in handles.values():
            f.close()
