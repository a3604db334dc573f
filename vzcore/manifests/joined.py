"""Concatenating manifests, now or when their arrays are first read.

:meth:`ChunkManifest.concatenate <vzcore.manifests.ChunkManifest.concatenate>` merges the
parts' path tables and writes every chunk's path index (recoded), offset and length into
new arrays. The root of a cluster's tree combine (:mod:`vzcore._tree_combine`) does this
for the whole result (10^7 chunk references: ~90 MB of fresh arrays, 0.2 s on a worker,
most of it faulting the new pages in) only for :mod:`vzcore._fetch_result` to send those
arrays to the client in slices, where they are copied once more.

Inside :func:`joining_later`, a concatenation whose parts lie one after the other in the
result's flat C order (along the grid's first axis, or after axes of length 1) returns a
:class:`JoinedManifest` instead: the merged path table, inline table and sources, and for
each part its manifest and how its path codes are recoded. Its first read of an array
joins the parts exactly as :func:`join_now` does (so every other use sees the same
manifest); :meth:`JoinedManifest.segments` gives a flat range of one array as views of
the parts' own arrays, which the fetch copies straight into the client's arrays. Pickled
(or copied), it is a plain :class:`ChunkManifest`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from vzcore.errors import CombineError
from vzcore.manifests.manifest import _INDEX_MAX, ChunkManifest, _index_dtype

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from vzcore.manifests.sources import SourceInfo

__all__ = ["JoinedManifest", "join", "join_now", "joining_later"]

_ARRAYS = frozenset({"_path_index", "_offsets", "_lengths"})

_later: ContextVar[bool] = ContextVar("vzcore_joining_later", default=False)


@contextlib.contextmanager
def joining_later() -> Iterator[None]:
    """Let concatenations in this context return a :class:`JoinedManifest` where they can."""
    token = _later.set(True)
    try:
        yield
    finally:
        _later.reset(token)


@dataclass(frozen=True)
class _Plan:
    """What a concatenation produces, before any per-chunk array is written."""

    parts: tuple[ChunkManifest, ...]
    axis: int
    grid: tuple[int, ...]
    paths: tuple[str, ...]
    sources: dict[str, SourceInfo]
    dtype: np.dtype[np.unsignedinteger]
    """The result's path index dtype."""
    luts: tuple[NDArray[np.unsignedinteger], ...]
    """Per part: its path numbers, then its INLINE and MISSING codes, in the result's codes."""
    inline: dict[int, bytes]


def _plan(manifests: Sequence[ChunkManifest], axis: int) -> _Plan:
    """Check that ``manifests`` concatenate along ``axis``; merge their tables."""
    if not manifests:
        raise ValueError("need at least one manifest to concatenate")
    ndim = manifests[0].ndim
    for m in manifests:
        if m.ndim != ndim:
            raise CombineError(f"cannot concatenate chunk grids of {ndim} and {m.ndim} dimensions")
    table: dict[str, int] = {}
    sources: dict[str, SourceInfo] = {}
    for m in manifests:
        for p in m.paths:
            table.setdefault(p, len(table))
        for p, info in m.sources.items():
            sources.setdefault(p, info)
    dtype = _index_dtype(len(table))
    new_missing = _INDEX_MAX[dtype]
    total = list(manifests[0].grid_shape)
    total[axis] = sum(m.grid_shape[axis] for m in manifests)
    for m in manifests[1:]:  # (np.concatenate's own check, before anything is allocated)
        other = list(m.grid_shape)
        other[axis] = total[axis]
        if other != total:
            raise ValueError(
                f"cannot concatenate chunk grids {manifests[0].grid_shape} and "
                f"{m.grid_shape} along axis {axis}"
            )
    luts = []
    inline: dict[int, bytes] = {}
    start = 0
    for m in manifests:
        codes = [table[p] for p in m.paths] + [new_missing - 1, new_missing]
        luts.append(np.array(codes, dtype=dtype))
        if m.inline:
            old = np.unravel_index(np.fromiter(m.inline, np.intp), m.grid_shape)
            moved = list(old)
            moved[axis] = moved[axis] + start
            flat_new = np.ravel_multi_index(tuple(moved), tuple(total))
            inline.update(zip(flat_new.tolist(), m.inline.values(), strict=True))
        start += m.grid_shape[axis]
    return _Plan(
        tuple(manifests), axis, tuple(total), tuple(table), sources, dtype, tuple(luts), inline
    )


def _recoded(
    m: ChunkManifest, pi: NDArray[Any], lut: NDArray[Any], out: NDArray[Any] | None = None
) -> Any:
    """Return ``pi`` (path codes of ``m``) in the result's codes, into ``out`` if given."""
    codes = np.where(pi >= m.inline_code, pi - m.inline_code + len(m.paths), pi)
    return np.take(lut, codes, out=out)


def _joined(plan: _Plan) -> ChunkManifest:
    # recoded straight into the result: no second copy of every path index
    path_index = np.empty(plan.grid, plan.dtype)
    start = 0
    for m, lut in zip(plan.parts, plan.luts, strict=True):
        where = (slice(None),) * plan.axis + (slice(start, start + m.grid_shape[plan.axis]),)
        _recoded(m, m.path_index, lut, out=path_index[where])
        start += m.grid_shape[plan.axis]
    return ChunkManifest(
        plan.paths,
        path_index,
        np.concatenate([m.offsets for m in plan.parts], axis=plan.axis),
        np.concatenate([m.lengths for m in plan.parts], axis=plan.axis),
        plan.inline,
        plan.sources,
    )


def join_now(manifests: Sequence[ChunkManifest], axis: int) -> ChunkManifest:
    """Concatenate ``manifests`` along grid axis ``axis`` into new arrays."""
    return _joined(_plan(manifests, axis))


def join(manifests: Sequence[ChunkManifest], axis: int) -> ChunkManifest:
    """Concatenate ``manifests``: a :class:`JoinedManifest` inside :func:`joining_later`.

    Only where the parts follow one another in the result's flat C order, and none is
    itself a JoinedManifest (whose arrays would be joined to be read); otherwise, and
    outside that context, as :func:`join_now`.
    """
    plan = _plan(manifests, axis)
    if (
        _later.get()
        and len(manifests) > 1
        and all(n == 1 for n in plan.grid[:axis])
        and not any(isinstance(m, JoinedManifest) for m in manifests)
    ):
        return JoinedManifest._of(plan)
    return _joined(plan)


class JoinedManifest(ChunkManifest):
    """A concatenation of manifests whose per-chunk arrays are written when first read.

    Equal in every respect to the manifest :func:`join_now` returns for the same parts:
    reading ``path_index``, ``offsets`` or ``lengths`` (or anything computed from them)
    joins the parts first. Built only by :func:`join`.
    """

    __slots__ = ("_plan",)
    _plan: _Plan

    @classmethod
    def _of(cls, plan: _Plan) -> JoinedManifest:
        new = object.__new__(cls)
        new._paths = plan.paths
        new._inline = dict(plan.inline)
        new._sources = {p: plan.sources[p] for p in plan.paths if p in plan.sources}
        new._plan = plan
        return new

    def __getattr__(self, name: str) -> Any:
        # called only when an attribute is not set: the arrays before the first read
        if name not in _ARRAYS:
            raise AttributeError(name)
        whole = _joined(self._plan)
        self._path_index = whole._path_index
        self._offsets = whole._offsets
        self._lengths = whole._lengths
        return object.__getattribute__(self, name)

    def __reduce__(self) -> tuple[Any, ...]:
        arrays = (self._path_index, self._offsets, self._lengths)
        # unpickled as the plain manifest it equals (a bound classmethod pickles by name)
        return (ChunkManifest._of_checked, (self._paths, *arrays, self._inline, self._sources))

    @property
    def is_joined(self) -> bool:
        """Whether the per-chunk arrays have been written (read once)."""
        try:
            object.__getattribute__(self, "_path_index")
        except AttributeError:
            return False
        return True

    @property
    def grid_shape(self) -> tuple[int, ...]:
        """Shape of the chunk grid."""
        return self._plan.grid

    @property
    def ndim(self) -> int:
        """Number of dimensions of the chunk grid."""
        return len(self._plan.grid)

    @property
    def nchunks(self) -> int:
        """Number of chunks in the grid, missing ones included."""
        return math.prod(self._plan.grid)

    @property
    def missing_code(self) -> int:
        """The ``path_index`` value that marks a missing chunk."""
        return _INDEX_MAX[self._plan.dtype]

    @property
    def nbytes(self) -> int:
        """Memory the manifest holds once joined (index arrays, path table, inline bytes)."""
        per_chunk = sum(dt.itemsize for dt in self.dtypes())
        return (
            self.nchunks * per_chunk
            + sum(len(p) for p in self._paths)
            + sum(len(b) for b in self._inline.values())
        )

    def dtypes(self) -> tuple[np.dtype[Any], np.dtype[Any], np.dtype[Any]]:
        """Return the dtypes of ``path_index``, ``offsets`` and ``lengths``, without joining.

        Those of ``np.concatenate`` over the parts: every part's positions are already as
        narrow as they can be, so the joined ones are not narrowed further.
        """
        parts = self._plan.parts
        return (
            self._plan.dtype,
            np.result_type(*[m.offsets.dtype for m in parts]),
            np.result_type(*[m.lengths.dtype for m in parts]),
        )

    def segments(
        self, field: str, start: int, stop: int
    ) -> list[tuple[int, NDArray[Any], NDArray[Any] | None]]:
        """Return ``[start:stop]`` of one flat per-chunk array as pieces of the parts' arrays.

        Each piece is ``(position, values, table)``: ``values`` go to ``position`` of the
        flat array (as they are when ``table`` is None, else as ``table[values]``: a
        part's raw path codes, with the table mapping every code of its index dtype to
        the result's). The values are views of the parts' arrays wherever they can be.
        """
        pieces = []
        at = 0
        for m, lut in zip(self._plan.parts, self._plan.luts, strict=True):
            size = m.nchunks
            lo, hi = max(start, at), min(stop, at + size)
            if lo < hi:
                if field == "path_index":
                    pieces.append((lo, *_codes_and_table(m, lut, lo - at, hi - at)))
                else:
                    pieces.append((lo, np.ravel(getattr(m, field))[lo - at : hi - at], None))
            at += size
        return pieces


def _codes_and_table(
    m: ChunkManifest, lut: NDArray[Any], lo: int, hi: int
) -> tuple[NDArray[Any], NDArray[Any] | None]:
    """Return a part's raw path codes ``[lo:hi]`` and a table over its whole code range.

    Parts with more paths than a ``uint16`` holds are recoded here instead (their table
    would have 2**32 entries).
    """
    pi = np.ravel(m.path_index)[lo:hi]
    if pi.dtype.itemsize > 2:
        return _recoded(m, pi, lut), None
    table = np.zeros(_INDEX_MAX[pi.dtype] + 1, lut.dtype)  # codes between: never used
    n = len(m.paths)
    table[:n] = lut[:n]
    table[m.inline_code] = lut[n]
    table[m.missing_code] = lut[n + 1]
    return pi, table
