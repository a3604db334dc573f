"""The chunk manifest: where every chunk of one array lives.

A :class:`ChunkManifest` is columnar and shaped like the array's chunk grid. It holds a
small table of unique paths and, per chunk, three numpy arrays:

* ``path_index``: index into the path table, in the smallest unsigned integer type that
  fits, with two sentinels at the top of the type's range: ``MISSING`` (no chunk stored,
  it reads as the array's fill value) and ``INLINE`` (the chunk's bytes are held in the
  manifest itself, in a side table keyed by the chunk's flat C-order index);
* ``offsets`` and ``lengths``: the byte range inside the file, ``uint32`` when every value
  fits (files under 4 GiB, the usual case), else ``uint64``.

So a chunk costs 9 to 12 bytes (17 to 20 with a file past 4 GiB) however long its path is,
and concatenating manifests is
numpy work on whole arrays: the path tables are merged and the index arrays remapped and
concatenated, with no Python loop per chunk. Manifests are immutable.

A manifest may also carry, per path, the :class:`~vzcore.manifests.sources.SourceInfo`
recorded when the file was scanned (size, modification time, ETag); it travels through
every transformation so that writers can store it and :func:`vzcore.verify` can check it.
It takes no part in equality: two manifests are equal when they reference the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from vzcore.manifests.sources import SourceInfo

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = ["ChunkManifest", "ChunkRef"]

ChunkRef = tuple[str, int, int] | bytes
"""One chunk: ``(path, offset, length)`` for bytes in a file, or the chunk's own bytes."""

_INDEX_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.uint32), np.dtype(np.uint64))


_INDEX_MAX = {dt: int(np.iinfo(dt).max) for dt in _INDEX_DTYPES}
"""The largest value of each index dtype (its missing sentinel; inline is one below)."""


def _index_dtype(n_paths: int) -> np.dtype[np.unsignedinteger]:
    """Return the smallest unsigned dtype holding ``n_paths`` indexes plus two sentinels."""
    for dt in _INDEX_DTYPES:
        if n_paths + 2 <= _INDEX_MAX[dt] + 1:
            return dt
    raise OverflowError(f"too many paths in one manifest: {n_paths}")  # pragma: no cover


_U32_MAX = int(np.iinfo(np.uint32).max)
_U32 = np.dtype(np.uint32)
_U64 = np.dtype(np.uint64)

_SMALL = 64
"""Arrays of at most this many chunks are checked element by element in Python: for a
small file's manifests (a few chunks each) numpy's per-call overhead is most of the cost
of a whole-array reduction."""


def _byte_positions(values: ArrayLike) -> NDArray[np.uint32] | NDArray[np.uint64]:
    """Return offsets or lengths as ``uint32`` when every value fits, else ``uint64``.

    Halves a manifest's memory (and what workers send) for files under 4 GiB; numpy's
    promotion keeps a concatenation with a larger file's ``uint64`` positions exact.
    """
    a = np.asarray(values)
    if a.dtype == _U32:
        return a
    wide = np.asarray(a, dtype=_U64)
    if wide.size == 0:
        return wide.astype(_U32)
    top = max(wide.ravel().tolist()) if wide.size <= _SMALL else int(wide.max())
    if top <= _U32_MAX:
        return wide.astype(_U32)
    return wide


_BLOCK = 2**20
"""Chunks per block where a whole-manifest computation needs temporaries."""


def _checked_inline_count(pi: NDArray[np.unsignedinteger], n_real: int, inline_code: int) -> int:
    """Return how many codes of ``pi`` are INLINE; raise if one is neither path nor sentinel."""
    if pi.size <= _SMALL:  # (the same checks as below, without numpy's per-call cost)
        codes = pi.ravel().tolist()
        if any(n_real <= c < inline_code for c in codes):
            raise ValueError("path_index holds values that are neither a path nor a sentinel")
        return codes.count(inline_code)
    n_inline = 0
    for block in _blocks(pi):  # bounded temporaries, however many chunks
        if bool(((block >= n_real) & (block < inline_code)).any()):
            raise ValueError("path_index holds values that are neither a path nor a sentinel")
        n_inline += int(np.count_nonzero(block == inline_code))
    return n_inline


def _blocks(a: NDArray[np.unsignedinteger]) -> Iterator[NDArray[np.unsignedinteger]]:
    """Yield flat views of ``a`` of :data:`_BLOCK` elements (temporaries stay small)."""
    flat = a.reshape(-1)
    for start in range(0, flat.size, _BLOCK):
        yield flat[start : start + _BLOCK]


class ChunkManifest:
    """The chunk index of one array, shaped like its chunk grid.

    Parameters
    ----------
    paths
        Unique paths (absolute URLs) that the chunks point into.
    path_index
        Per chunk, an index into ``paths`` or one of the sentinels :meth:`missing_code` and
        :meth:`inline_code` of its dtype. Its shape is the chunk grid's shape.
    offsets, lengths
        Per chunk byte offset and length, same shape as ``path_index`` (kept as ``uint32``
        when every value fits, else ``uint64``).
    inline
        Bytes of inline chunks, keyed by flat C-order chunk index.
    sources
        What each path looked like when it was scanned; entries for paths outside
        ``paths`` are dropped.
    """

    __slots__ = ("_inline", "_lengths", "_offsets", "_path_index", "_paths", "_sources")

    MISSING: ClassVar[int] = -1
    """The code of a missing chunk in :meth:`from_codes` (it reads as the fill value)."""
    INLINE: ClassVar[int] = -2
    """The code of an inline chunk in :meth:`from_codes` (its bytes are in ``inline``)."""

    def __init__(
        self,
        paths: Sequence[str],
        path_index: ArrayLike,
        offsets: ArrayLike,
        lengths: ArrayLike,
        inline: Mapping[int, bytes] | None = None,
        sources: Mapping[str, SourceInfo] | None = None,
    ) -> None:
        self._paths = tuple(paths)
        dtype = _index_dtype(len(self._paths))
        pi = np.asarray(path_index)
        if pi.dtype.kind != "u":
            raise TypeError(f"path_index must be an unsigned integer array, got {pi.dtype}")
        self._finish(self._recode(pi, dtype), offsets, lengths, inline, sources, None)

    def _finish(
        self,
        pi: NDArray[np.unsignedinteger],
        offsets: ArrayLike,
        lengths: ArrayLike,
        inline: Mapping[int, bytes] | None,
        sources: Mapping[str, SourceInfo] | None,
        n_inline: int | None,
    ) -> None:
        """Check and keep the arrays (``self._paths`` set, ``pi`` of its index dtype).

        ``n_inline`` is the number of INLINE codes when the caller has already checked that
        every code is a path or a sentinel (:meth:`from_codes`); None checks them here.
        """
        off = _byte_positions(offsets)
        ln = _byte_positions(lengths)
        if not (pi.shape == off.shape == ln.shape):
            raise ValueError(
                f"path_index, offsets and lengths must share one shape, got "
                f"{pi.shape}, {off.shape} and {ln.shape}"
            )
        inline_map = dict(inline or {})
        n_real = len(self._paths)
        inline_code = _INDEX_MAX[pi.dtype] - 1
        if n_inline is None:
            n_inline = _checked_inline_count(pi, n_real, inline_code)
        if n_inline != len(inline_map) or any(
            not 0 <= k < pi.size or pi.flat[k] != inline_code for k in inline_map
        ):
            raise ValueError("inline chunk table does not match the INLINE entries of path_index")
        for arr in (pi, off, ln):
            arr.setflags(write=False)  # (no flags object made per array)
        self._path_index: NDArray[np.unsignedinteger] = pi
        self._offsets: NDArray[np.uint32] | NDArray[np.uint64] = off
        self._lengths: NDArray[np.uint32] | NDArray[np.uint64] = ln
        self._inline = inline_map
        self._sources: dict[str, SourceInfo] = (
            {p: sources[p] for p in self._paths if p in sources} if sources else {}
        )

    # -- construction ------------------------------------------------------------------

    @classmethod
    def empty(cls, grid_shape: tuple[int, ...]) -> ChunkManifest:
        """Return a manifest in which every chunk is missing."""
        dtype = _index_dtype(0)
        return cls(
            (),
            np.full(grid_shape, np.iinfo(dtype).max, dtype=dtype),
            np.zeros(grid_shape, np.uint32),
            np.zeros(grid_shape, np.uint32),
        )

    @classmethod
    def from_codes(
        cls,
        paths: Sequence[str],
        codes: ArrayLike,
        offsets: ArrayLike,
        lengths: ArrayLike,
        inline: Mapping[int, bytes] | None = None,
        sources: Mapping[str, SourceInfo] | None = None,
    ) -> ChunkManifest:
        """Build a manifest from per-chunk codes, the way readers build one.

        Parameters
        ----------
        paths
            Unique paths (absolute URLs) that the chunks point into.
        codes
            Signed integer array shaped like the chunk grid: per chunk an index into
            ``paths``, :attr:`MISSING` (``-1``, no chunk stored) or :attr:`INLINE` (``-2``,
            the chunk's bytes are in ``inline``). Any signed integer dtype will do (``int8``
            for a file's own manifest); the manifest stores the smallest type that fits.
        offsets, lengths
            Per chunk byte offset and length, same shape as ``codes``.
        inline
            Bytes of the inline chunks, keyed by flat C-order chunk index.
        sources
            What each path looked like when it was scanned.

        Raises
        ------
        TypeError
            If ``codes`` is not an integer array.
        ValueError
            If a code is below ``-2`` or past the path table, or ``inline`` does not match
            the :attr:`INLINE` codes.
        """
        c = np.asarray(codes)
        if c.dtype.kind not in "iu":
            raise TypeError(f"codes must be an integer array, got {c.dtype}")
        n_paths = len(paths)
        values: list[int] | None = None
        if c.size:
            if c.size <= _SMALL:
                values = c.ravel().tolist()
                lo, hi = min(values), max(values)
            else:
                lo, hi = int(c.min()), int(c.max())
            if lo < cls.INLINE or hi >= n_paths:
                raise ValueError(
                    f"codes must be -2 (inline), -1 (missing) or an index below {n_paths} "
                    f"(the number of paths), got values from {lo} to {hi}"
                )
        # Two's complement: -1 and -2 become the top two values of the unsigned type,
        # the sentinels the manifest keeps.
        pi = c.astype(_index_dtype(n_paths))
        if values is None:
            return cls(paths, pi, offsets, lengths, inline, sources)
        # Every code was just checked to be a path, MISSING or INLINE: the constructor's
        # check of the codes is skipped, the rest (shapes, inline table) is the same.
        new = object.__new__(cls)
        new._paths = tuple(paths)
        new._finish(pi, offsets, lengths, inline, sources, values.count(cls.INLINE))
        return new

    @classmethod
    def _of_checked(
        cls,
        paths: tuple[str, ...],
        path_index: NDArray[np.unsignedinteger],
        offsets: NDArray[np.unsignedinteger],
        lengths: NDArray[np.unsignedinteger],
        inline: dict[int, bytes],
        sources: Mapping[str, SourceInfo],
    ) -> ChunkManifest:
        """Rebuild a manifest from the arrays of one that was built (and checked) elsewhere.

        For copies of a checked manifest's own arrays (a cluster's result, fetched in
        slices): the codes are not checked again (10^7 chunks: 60 ms), the rest is.
        """
        new = object.__new__(cls)
        new._paths = paths
        new._finish(path_index, offsets, lengths, inline, sources, len(inline))
        return new

    @classmethod
    def from_arrays(
        cls,
        paths: ArrayLike,
        offsets: ArrayLike,
        lengths: ArrayLike,
        inline: Mapping[tuple[int, ...], bytes] | None = None,
    ) -> ChunkManifest:
        """Build a manifest from per-chunk paths (``""`` for a missing chunk).

        Parameters
        ----------
        paths
            Array of strings shaped like the chunk grid; ``""`` marks a missing chunk.
        offsets, lengths
            Integer arrays of the same shape.
        inline
            Inline chunk bytes keyed by chunk grid index; these entries' paths are ignored.
        """
        p = np.asarray(paths, dtype=object)
        p = np.where(p == None, "", p).astype(str)  # elementwise None test
        for idx in inline or {}:
            p[idx] = ""  # inline chunks have no path
        uniq, inverse = np.unique(p.ravel(), return_inverse=True)
        has_empty = int(uniq.size > 0 and uniq[0] == "")  # "" sorts first
        table = [str(u) for u in uniq[has_empty:]]
        dtype = _index_dtype(len(table))
        codes = np.asarray(inverse.reshape(p.shape).astype(np.int64) - has_empty)
        codes[codes < 0] = np.iinfo(dtype).max
        pi = codes.astype(dtype)
        flat_inline: dict[int, bytes] = {}
        off = np.array(offsets, dtype=np.uint64)
        ln = np.array(lengths, dtype=np.uint64)
        if inline:
            code = np.iinfo(pi.dtype).max - 1
            for idx, data in inline.items():
                pi[idx] = code
                off[idx] = 0
                ln[idx] = len(data)
                flat_inline[int(np.ravel_multi_index(idx, pi.shape))] = bytes(data)
        return cls(table, pi, off, ln, flat_inline)

    @staticmethod
    def _recode(
        pi: NDArray[np.unsignedinteger], dtype: np.dtype[np.unsignedinteger]
    ) -> NDArray[np.unsignedinteger]:
        """Cast ``pi`` to ``dtype`` keeping the two sentinels at the top of the new range."""
        if pi.dtype == dtype:
            return pi
        old = np.iinfo(pi.dtype).max
        new = pi.astype(dtype)
        new[pi == old] = _INDEX_MAX[dtype]
        new[pi == old - 1] = _INDEX_MAX[dtype] - 1
        return new

    @classmethod
    def from_refs(
        cls, refs: Mapping[tuple[int, ...], ChunkRef], grid_shape: tuple[int, ...]
    ) -> ChunkManifest:
        """Build a manifest from a mapping of chunk index to reference (small manifests)."""
        paths = np.full(grid_shape, "", dtype=object)
        offsets = np.zeros(grid_shape, np.uint64)
        lengths = np.zeros(grid_shape, np.uint64)
        inline: dict[tuple[int, ...], bytes] = {}
        for idx, ref in refs.items():
            if isinstance(ref, bytes | bytearray | memoryview):
                inline[idx] = bytes(ref)
            else:
                paths[idx], offsets[idx], lengths[idx] = ref
        return cls.from_arrays(paths, offsets, lengths, inline)

    # -- properties --------------------------------------------------------------------

    @property
    def paths(self) -> tuple[str, ...]:
        """The unique paths the chunks point into."""
        return self._paths

    @property
    def path_index(self) -> NDArray[np.unsignedinteger]:
        """Per chunk index into :attr:`paths` (read-only), or a sentinel."""
        return self._path_index

    @property
    def offsets(self) -> NDArray[np.uint32] | NDArray[np.uint64]:
        """Per chunk byte offset (read-only; ``uint32`` when every offset fits)."""
        return self._offsets

    @property
    def lengths(self) -> NDArray[np.uint32] | NDArray[np.uint64]:
        """Per chunk byte length (read-only; ``uint32`` when every length fits)."""
        return self._lengths

    @property
    def inline(self) -> Mapping[int, bytes]:
        """Bytes of inline chunks keyed by flat C-order chunk index."""
        return self._inline

    @property
    def sources(self) -> Mapping[str, SourceInfo]:
        """Scan-time identity of the paths, for those paths where it was recorded."""
        return self._sources

    def with_sources(self, sources: Mapping[str, SourceInfo]) -> ChunkManifest:
        """Return a copy whose source info is updated from ``sources`` (keyed by path)."""
        # The arrays are validated and read-only: shared, not checked again (every scanned
        # manifest passes here once).
        new = object.__new__(ChunkManifest)
        new._paths = self._paths
        new._path_index = self._path_index
        new._offsets = self._offsets
        new._lengths = self._lengths
        new._inline = dict(self._inline)
        merged = {**self._sources, **sources}
        new._sources = {p: merged[p] for p in self._paths if p in merged}
        return new

    @property
    def missing_code(self) -> int:
        """The ``path_index`` value that marks a missing chunk."""
        dt = self._path_index.dtype
        return _INDEX_MAX[dt] if dt in _INDEX_MAX else int(np.iinfo(dt).max)

    @property
    def inline_code(self) -> int:
        """The ``path_index`` value that marks an inline chunk."""
        return self.missing_code - 1

    @property
    def grid_shape(self) -> tuple[int, ...]:
        """Shape of the chunk grid."""
        return self._path_index.shape

    @property
    def ndim(self) -> int:
        """Number of dimensions of the chunk grid."""
        return self._path_index.ndim

    @property
    def nchunks(self) -> int:
        """Number of chunks in the grid, missing ones included."""
        return self._path_index.size

    @property
    def nbytes(self) -> int:
        """Memory held by the manifest (index arrays, path table and inline bytes)."""
        return (
            self._path_index.nbytes
            + self._offsets.nbytes
            + self._lengths.nbytes
            + sum(len(p) for p in self._paths)
            + sum(len(b) for b in self._inline.values())
        )

    def reference_counts(self) -> NDArray[np.int64]:
        """Return the number of chunks that point into each entry of :attr:`paths`."""
        n = len(self._paths)
        counts = np.zeros(n, np.int64)
        for block in _blocks(self._path_index):
            counts += np.bincount(block[block < n], minlength=n)
        return counts

    def missing(self) -> NDArray[np.bool_]:
        """Return a boolean grid, True where the chunk is not stored."""
        result: NDArray[np.bool_] = self._path_index == self.missing_code
        return result

    def is_inline(self) -> NDArray[np.bool_]:
        """Return a boolean grid, True where the chunk's bytes are held inline."""
        result: NDArray[np.bool_] = self._path_index == self.inline_code
        return result

    def path_array(self) -> NDArray[np.object_]:
        """Return per-chunk paths as an object array (``None`` for missing or inline chunks)."""
        table = np.array([*self._paths, None, None], dtype=object)
        codes = np.minimum(self._path_index, len(self._paths)).astype(np.intp)
        result: NDArray[np.object_] = table[codes]
        return result

    def __getitem__(self, idx: tuple[int, ...]) -> ChunkRef | None:
        """Return the reference of one chunk, or None when it is missing."""
        code = int(self._path_index[idx])
        if code == self.missing_code:
            return None
        if code == self.inline_code:
            return self._inline[int(np.ravel_multi_index(idx, self.grid_shape))]
        return (self._paths[code], int(self._offsets[idx]), int(self._lengths[idx]))

    def iter_refs(self) -> Iterator[tuple[tuple[int, ...], ChunkRef]]:
        """Yield ``(chunk index, reference)`` for every stored chunk, in C order."""
        paths = self._paths
        n_paths = len(paths)
        pi = self._path_index.ravel()
        offs = self._offsets.ravel().tolist()
        lens = self._lengths.ravel().tolist()
        shape = self.grid_shape
        strides = [math.prod(shape[axis + 1 :]) for axis in range(len(shape))]
        stored = np.flatnonzero(pi != self.missing_code).tolist()
        for flat, code in zip(stored, pi[stored].tolist(), strict=True):
            # (np.unravel_index's C-order index, in Python)
            idx = tuple(flat // st % n for st, n in zip(strides, shape, strict=True))
            if code < n_paths:
                yield idx, (paths[code], offs[flat], lens[flat])
            else:
                yield idx, self._inline[flat]

    # -- transformations ---------------------------------------------------------------

    def rename_paths(self, func: Callable[[str], str]) -> ChunkManifest:
        """Return a copy whose paths are ``func(path)``: O(unique paths) work."""
        new = [func(p) for p in self._paths]
        sources: dict[str, SourceInfo] = {}
        for old, renamed in zip(self._paths, new, strict=True):
            if old in self._sources:
                sources.setdefault(renamed, self._sources[old])  # merged paths: the first wins
        if len(set(new)) == len(new):
            return ChunkManifest(
                new, self._path_index, self._offsets, self._lengths, self._inline, sources
            )
        # Two paths were renamed to the same one: merge them.
        uniq = list(dict.fromkeys(new))
        lut = np.array([uniq.index(p) for p in new], dtype=np.intp)
        dtype = _index_dtype(len(uniq))
        pi = self._path_index
        real = pi < len(self._paths)
        out = self._recode(pi, dtype).copy()
        out[real] = lut[pi[real].astype(np.intp)]
        return ChunkManifest(uniq, out, self._offsets, self._lengths, self._inline, sources)

    def slice_grid(self, key: tuple[slice, ...]) -> ChunkManifest:
        """Return the manifest of a block of the chunk grid (``key``: one slice per axis)."""
        pi = self._path_index[key]
        inline: dict[int, bytes] = {}
        if self._inline:
            flat_all = np.arange(self.nchunks).reshape(self.grid_shape)[key]
            keep = {int(f): i for i, f in enumerate(flat_all.ravel().tolist())}
            inline = {keep[k]: v for k, v in self._inline.items() if k in keep}
        return ChunkManifest(
            self._paths, pi, self._offsets[key], self._lengths[key], inline, self._sources
        )

    def expand_dims(self, axis: int) -> ChunkManifest:
        """Return the manifest with a new grid axis of length 1 at ``axis``."""
        return ChunkManifest(
            self._paths,
            np.expand_dims(self._path_index, axis),
            np.expand_dims(self._offsets, axis),
            np.expand_dims(self._lengths, axis),
            self._inline,
            self._sources,
        )

    def broadcast_to(self, grid_shape: tuple[int, ...]) -> ChunkManifest:
        """Return the manifest repeated along size-1 (or new leading) grid axes."""
        pi = np.broadcast_to(self._path_index, grid_shape)
        inline: dict[int, bytes] = {}
        if self._inline:
            flat = np.arange(self.nchunks).reshape(self.grid_shape)
            flat_b = np.broadcast_to(flat, grid_shape).ravel()
            for new_flat in np.flatnonzero(np.isin(flat_b, list(self._inline))).tolist():
                inline[new_flat] = self._inline[int(flat_b[new_flat])]
        return ChunkManifest(
            self._paths,
            np.ascontiguousarray(pi),
            np.ascontiguousarray(np.broadcast_to(self._offsets, grid_shape)),
            np.ascontiguousarray(np.broadcast_to(self._lengths, grid_shape)),
            inline,
            self._sources,
        )

    @staticmethod
    def concatenate(manifests: Sequence[ChunkManifest], axis: int) -> ChunkManifest:
        """Concatenate manifests along a grid axis, merging their path tables.

        (Inside :func:`vzcore.manifests.joined.joining_later` the result may be a
        :class:`~vzcore.manifests.joined.JoinedManifest`, equal to this one and written
        when first read.)
        """
        from vzcore.manifests.joined import join

        return join(manifests, axis)

    # -- comparison --------------------------------------------------------------------

    def chunk_equal(self, other: ChunkManifest) -> NDArray[np.bool_]:
        """Return a boolean grid, True where both manifests reference the same bytes."""
        if self.grid_shape != other.grid_shape:
            raise ValueError(f"grid shapes differ: {self.grid_shape} vs {other.grid_shape}")
        mine = self.path_array()
        theirs = other.path_array()
        eq = np.array(
            (mine == theirs) & (self._offsets == other.offsets) & (self._lengths == other.lengths),
            dtype=bool,
        )  # an array even for a 0-d (scalar) grid, so the updates below work
        eq &= self.missing() == other.missing()
        both_inline = self.is_inline() & other.is_inline()
        for flat in np.flatnonzero(both_inline).tolist():
            eq.flat[flat] = self._inline[flat] == other.inline[flat]
        eq[self.is_inline() != other.is_inline()] = False
        return np.asarray(eq, dtype=bool)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ChunkManifest):
            return NotImplemented
        return self.grid_shape == other.grid_shape and bool(self.chunk_equal(other).all())

    __hash__ = None  # type: ignore[assignment]  # mutable-looking value type: not hashable

    def __repr__(self) -> str:
        return (
            f"ChunkManifest(grid_shape={self.grid_shape}, paths={len(self._paths)}, "
            f"missing={int(self.missing().sum())}, inline={len(self._inline)})"
        )
