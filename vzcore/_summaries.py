"""What the calling process learns of each scanned file, kept as columns.

A batch task (process pool or dask.distributed worker) scans its files and makes one
:class:`Summary` per file: enough to order the files, apply ``errors=`` and warn again what
the scan warned. Only a :class:`SummaryTable` travels to the calling process: a few numpy
columns per batch (file numbers, each indexed dimension's length, first and last value, a
code for the file's data variables) plus the rare failures, warnings and virtual dimension
coordinates, so that at 10^6 files the caller holds tens of megabytes, not a Python object
per file (about 680 bytes each).

:meth:`SummaryTable.order` is the combined order in which staging the combine is exact:
files that tile one dimension, ordered by their first value, with no ties or overlaps. It
gives the same answer as comparing each file's values in Python (kept as the fallback for
values numpy cannot order, e.g. cftime objects), vectorized for numbers and times.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vzcore._worker_warnings import Note

__all__ = ["Summary", "SummaryTable"]

_ORDERED_KINDS = frozenset("iufmM")
"""dtype kinds whose values numpy orders as Python compares the same scalars."""


@dataclass(frozen=True)
class Summary:
    """One scanned file, as its batch task sees it (never sent on its own)."""

    index: int
    path: str
    failed: BaseException | None = None
    data_vars: tuple[str, ...] = ()
    coords: dict[str, tuple[int, Any, Any]] = field(default_factory=dict)
    """``dim: (length, first value, last value)`` of each indexed dimension coordinate."""
    virtual: tuple[str, ...] = ()
    """Dimension coordinates without an index (virtual): ``combine="by_coords"`` refuses them."""
    notes: tuple[Note, ...] = ()
    """vzcore warnings raised while scanning it in a worker process: the caller warns them
    (:mod:`vzcore._worker_warnings`)."""


@dataclass(frozen=True)
class _Column:
    """One dimension's coordinate summary for every file of a table."""

    present: np.ndarray
    """False where a file has no indexed coordinate for this dimension (or failed)."""
    length: np.ndarray
    first: np.ndarray
    """A typed array when every value is a numpy scalar of one dtype, else an object array
    of the values themselves; entries where ``present`` is False hold a filler."""
    last: np.ndarray

    def take(self, rows: np.ndarray) -> _Column:
        return _Column(self.present[rows], self.length[rows], self.first[rows], self.last[rows])


def _values(values: list[Any], present: list[bool]) -> np.ndarray:
    """Return ``values`` as one typed array if they are numpy scalars of one dtype, else objects."""
    shown = [v for v, p in zip(values, present, strict=True) if p]
    if shown and all(isinstance(v, np.generic) for v in shown):
        dtype = shown[0].dtype
        if all(v.dtype == dtype for v in shown):
            filler = shown[0]
            return np.array(
                [v if p else filler for v, p in zip(values, present, strict=True)], dtype
            )
    out = np.empty(len(values), object)
    out[:] = values
    return out


def _joined(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """Concatenate value columns, as objects when their dtypes differ (no conversion)."""
    if len({a.dtype for a in arrays}) == 1:
        return np.concatenate(arrays)
    out = np.empty(sum(len(a) for a in arrays), object)
    out[:] = [v for a in arrays for v in a]  # numpy scalars (or the objects) as they were
    return out


@dataclass(frozen=True)
class SummaryTable:
    """Summaries of many files as columns, in the order given (see the module docstring)."""

    index: np.ndarray
    """File numbers (int64)."""
    variables: tuple[tuple[str, ...], ...]
    """The distinct sorted data variable names of the files."""
    variables_code: np.ndarray
    """Per file, its position in :attr:`variables` (-1 for a failed file)."""
    coords: dict[str, _Column]
    failed: dict[int, tuple[str, BaseException]] = field(default_factory=dict)
    """File number -> (path, error) of each file that could not be scanned."""
    virtual: dict[int, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    """File number -> (path, names) of files with virtual dimension coordinates."""
    notes: dict[int, tuple[Note, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, summaries: Sequence[Summary]) -> SummaryTable:
        """Return the table of ``summaries`` (one batch's, in its order)."""
        variables: dict[tuple[str, ...], int] = {}
        codes = [
            -1 if s.failed is not None else variables.setdefault(s.data_vars, len(variables))
            for s in summaries
        ]
        dims = dict.fromkeys(d for s in summaries for d in s.coords)
        coords = {}
        for dim in dims:
            got = [s.coords.get(dim) for s in summaries]
            present = [g is not None for g in got]
            coords[dim] = _Column(
                np.array(present, bool),
                np.array([g[0] if g else 0 for g in got], np.int64),
                _values([g[1] if g else None for g in got], present),
                _values([g[2] if g else None for g in got], present),
            )
        return cls(
            index=np.array([s.index for s in summaries], np.int64),
            variables=tuple(variables),
            variables_code=np.array(codes, np.int32),
            coords=coords,
            failed={s.index: (s.path, s.failed) for s in summaries if s.failed is not None},
            virtual={s.index: (s.path, s.virtual) for s in summaries if s.virtual},
            notes={s.index: s.notes for s in summaries if s.notes},
        )

    @classmethod
    def join(cls, tables: Sequence[SummaryTable]) -> SummaryTable:
        """Return one table of ``tables``' files, in that order."""
        variables: dict[tuple[str, ...], int] = {}
        codes = []
        for t in tables:
            lut = np.array([variables.setdefault(v, len(variables)) for v in t.variables] + [-1])
            codes.append(lut[t.variables_code].astype(np.int32))  # -1 picks the last: -1
        dims = dict.fromkeys(d for t in tables for d in t.coords)
        coords = {}
        for dim in dims:
            parts = [t.coords.get(dim) or _absent(len(t)) for t in tables]
            coords[dim] = _Column(
                np.concatenate([p.present for p in parts]),
                np.concatenate([p.length for p in parts]),
                _joined([p.first for p in parts]),
                _joined([p.last for p in parts]),
            )
        return cls(
            index=np.concatenate([t.index for t in tables]) if tables else np.array([], np.int64),
            variables=tuple(variables),
            variables_code=np.concatenate(codes) if codes else np.array([], np.int32),
            coords=coords,
            failed={k: v for t in tables for k, v in t.failed.items()},
            virtual={k: v for t in tables for k, v in t.virtual.items()},
            notes={k: v for t in tables for k, v in t.notes.items()},
        )

    def __len__(self) -> int:
        return len(self.index)

    def kept(self) -> SummaryTable:
        """Return the table of the files that were scanned (not failed)."""
        rows = np.flatnonzero(self.variables_code >= 0)
        keep = set(self.index[rows].tolist())
        return SummaryTable(
            self.index[rows],
            self.variables,
            self.variables_code[rows],
            {d: c.take(rows) for d, c in self.coords.items()},
            {},
            {k: v for k, v in self.virtual.items() if k in keep},
            {k: v for k, v in self.notes.items() if k in keep},
        )

    def all_notes(self) -> list[Note]:
        """Every file's warnings, files in number order."""
        return [n for k in sorted(self.notes) for n in self.notes[k]]

    def failures(self) -> list[tuple[str, BaseException]]:
        """``(path, error)`` of each failed file, in number order."""
        return [self.failed[k] for k in sorted(self.failed)]

    def dims(self, row: int) -> set[str]:
        """Return the indexed dimension coordinates of the file in ``row``."""
        return {d for d, c in self.coords.items() if c.present[row]}

    def order(self, combine: str) -> list[int] | None:
        """Return the rows in the order in which staged combining is exact, or None.

        ``"nested"``: as given. ``"by_coords"``: one group of variables, the same indexed
        dimensions in every file, exactly one whose (length, first, last) differ between
        files, and along it files strictly apart (no ties or overlaps), all ascending or
        all descending. None: combine every file at once.
        """
        n = len(self)
        if combine == "nested":
            return list(range(n))
        if len(np.unique(self.variables_code)) != 1:
            return None  # several groups of variables: xarray merges them
        dims = []
        for dim, col in self.coords.items():
            if not col.present.all():
                if col.present.any():
                    return None  # some files have this dimension coordinate, others not
                continue
            dims.append(dim)
        varying = [d for d in dims if _differ(self.coords[d])]
        if len(varying) != 1:
            return None  # none or several concatenation dimensions
        col = self.coords[varying[0]]
        if col.first.dtype.kind in _ORDERED_KINDS and col.last.dtype == col.first.dtype:
            return _sorted_apart(col.first, col.last)
        return _sorted_apart_python(list(col.first), list(col.last))


def _absent(n: int) -> _Column:
    filler = np.full(n, None, object)
    return _Column(np.zeros(n, bool), np.zeros(n, np.int64), filler, filler)


def _differ(col: _Column) -> bool:
    """Tell whether files' ``(length, first, last)`` differ, as their ``repr`` would say."""
    if (col.length != col.length[0]).any():
        return True
    return not (_all_same(col.first) and _all_same(col.last))


def _all_same(values: np.ndarray) -> bool:
    """Tell whether every value has the first's ``repr`` (NaN is NaN; 0.0 is not -0.0)."""
    kind = values.dtype.kind
    if kind == "f":
        bits = values.view(f"u{values.dtype.itemsize}")
        nan = np.isnan(values)
        return bool(((bits == bits[0]) | (nan & nan[0])).all())
    if kind in "mM":
        return bool((values.view(np.int64) == values.view(np.int64)[0]).all())
    if kind in "iubUS":
        return bool((values == values[0]).all())
    first = repr(values[0])
    return all(repr(v) == first for v in values)


def _sorted_apart(firsts: np.ndarray, lasts: np.ndarray) -> list[int] | None:
    """Return the files' order by first value if they are strictly apart (numbers, times)."""
    with np.errstate(invalid="ignore"):
        ascending = bool((firsts <= lasts).all())
        if not ascending and not bool((firsts >= lasts).all()):
            return None  # (NaN and NaT compare False: never ordered)
        if ascending:
            order = np.argsort(firsts, kind="stable")
            apart = lasts[order[:-1]] < firsts[order[1:]]
        else:  # descending; ties keep the order given (they are refused below anyway)
            order = (len(firsts) - 1 - np.argsort(firsts[::-1], kind="stable"))[::-1]
            apart = lasts[order[:-1]] > firsts[order[1:]]
    return order.tolist() if bool(apart.all()) else None


def _sorted_apart_python(firsts: list[Any], lasts: list[Any]) -> list[int] | None:
    """:func:`_sorted_apart` for values numpy does not order (compared in Python)."""
    try:
        ascending = all(f <= last for f, last in zip(firsts, lasts, strict=True))
        descending = all(f >= last for f, last in zip(firsts, lasts, strict=True))
        if not (ascending or descending):
            return None
        order = sorted(range(len(firsts)), key=lambda k: firsts[k], reverse=not ascending)
        for a, b in itertools.pairwise(order):  # strictly apart: no ties, no overlap
            if not (lasts[a] < firsts[b] if ascending else lasts[a] > firsts[b]):
                return None
    except TypeError:  # unorderable values
        return None
    return order
