"""A numpy reader of HDF5's version-1 B-tree chunk index (one read per node).

netCDF-C and h5py (without ``libver="latest"``) index the chunks of a dataset with a
version-1 B-tree whose leaves hold, per chunk, its byte size, filter mask, element offset
and file address. Reading those nodes directly (each node in one read, parsed with one
``np.frombuffer``) is an order of magnitude faster than HDF5's own ``H5Dchunk_iter``, does
not hold the HDF5 library lock, and reads a remote index in a few range requests.

Everything here follows the HDF5 file format specification (version 3.0): the object
header (versions 1 and 2, continuation blocks included) is scanned for the Data Layout
message; layout messages of versions 1-3 of the chunked class point at a v1 B-tree. Other
chunk indexes (layout version 4: single chunk, implicit, fixed array, extensible array,
v2 B-tree) return ``None`` so the caller falls back to ``chunk_iter``.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

__all__ = [
    "ChunkIndexError",
    "ChunkKeyError",
    "read_layout_message",
    "read_v1_chunk_rows",
    "unfiltered_edges",
]

ReadAt = Callable[[int, int], bytes]
"""``read_at(offset, size)``: up to ``size`` bytes at absolute file ``offset``."""

_LAYOUT = 0x0008
_CONTINUATION = 0x0010
_HEAD_READ = 1024
_ENTRIES_GUESS = 64  # 2K for HDF5's default chunk B-tree K of 32
_V1_MESSAGE = struct.Struct("<HHB")  # type, size, flags
_V2_MESSAGE = struct.Struct("<BHB")
_V2_ORDERED_MESSAGE = struct.Struct("<BHBH")  # type, size, flags, creation index
_LAYOUT_ONLY = frozenset({_LAYOUT})
_MAX_BLOCKS = 4096  # continuation blocks per object header: far more than HDF5 writes


class ChunkIndexError(Exception):
    """The on-disk structures do not look like the format says (a damaged file)."""


class ChunkKeyError(Exception):
    """A chunk B-tree whose keys HDF5's own lookup cannot follow to the chunks it lists.

    Not a :class:`ChunkIndexError`: HDF5's ``chunk_iter`` would list the same chunks while
    its reads fill some of them with the fill value, so there is nothing to fall back to.
    """


def _uint(buf: bytes, pos: int, size: int) -> int:
    return int.from_bytes(buf[pos : pos + size], "little")


class _Header:
    """Finds the Data Layout message of one object header."""

    def __init__(self, read_at: ReadAt, base: int, sizeof_addr: int, sizeof_len: int) -> None:
        self.read_at = read_at
        self.base = base
        self.o = sizeof_addr
        self.lsize = sizeof_len

    def layout(self, addr: int) -> bytes | None:
        for mtype, _flags, data in self.messages(addr, _LAYOUT_ONLY):
            if mtype == _LAYOUT:
                return data
        return None

    def messages(
        self, addr: int, wanted: frozenset[int] | None = None
    ) -> Iterator[tuple[int, int, bytes]]:
        """Yield ``(type, flags, data)`` for the messages of the header at ``addr``.

        Only messages whose type is in ``wanted`` (all when None) are yielded.

        Continuation blocks are followed in order; a continuation chain that loops or
        exceeds :data:`_MAX_BLOCKS` raises :class:`ChunkIndexError`.
        """
        _, found = self.indexed_messages(addr, wanted)
        return ((mtype, mflags, data) for mtype, mflags, data, _ in found)

    def indexed_messages(
        self, addr: int, wanted: frozenset[int] | None = None
    ) -> tuple[bool, Iterator[tuple[int, int, bytes, int]]]:
        """Return :meth:`messages` with each message's creation index.

        Returns whether the header tracks the creation order of its attributes (only a
        version-2 header can) and ``(type, flags, data, creation index)`` for each message,
        the index 0 when the order is not tracked. The header's first block is read here; a
        header that is not one raises :class:`ChunkIndexError`.
        """
        buf = self.read_at(self.base + addr, _HEAD_READ)
        if buf[:4] == b"OHDR":
            return bool(buf[5] & 0x04), self._v2(addr, buf, wanted)
        if buf[:1] == b"\x01":
            return False, self._v1(addr, buf, wanted)
        raise ChunkIndexError(f"no object header at address {addr}")

    def _block(self, addr: int, length: int, have: bytes, start: int) -> bytes:
        if len(have) >= start + length:
            return have[start : start + length]
        return self.read_at(self.base + addr + start, length)

    def _continue(self, data: bytes, seen: set[int]) -> tuple[int, bytes]:
        caddr, clen = _uint(data, 0, self.o), _uint(data, self.o, self.lsize)
        if caddr in seen or len(seen) > _MAX_BLOCKS:
            raise ChunkIndexError(f"object header continuation at address {caddr} loops")
        seen.add(caddr)
        return caddr, self.read_at(self.base + caddr, clen)

    def _v1(
        self, addr: int, buf: bytes, wanted: frozenset[int] | None
    ) -> Iterator[tuple[int, int, bytes, int]]:
        size = _uint(buf, 8, 4)
        blocks = [self._block(addr, size, buf, 16)]
        seen = {addr}
        while blocks:
            block = blocks.pop(0)
            pos = 0
            end = len(block)
            while pos + 8 <= end:
                mtype, msize, mflags = _V1_MESSAGE.unpack_from(block, pos)
                if wanted is None or mtype in wanted:
                    yield mtype, mflags, block[pos + 8 : pos + 8 + msize], 0
                if mtype == _CONTINUATION:
                    data = block[pos + 8 : pos + 8 + msize]
                    blocks.append(self._continue(data, seen)[1])
                pos += 8 + msize

    def _v2(
        self, addr: int, buf: bytes, wanted: frozenset[int] | None
    ) -> Iterator[tuple[int, int, bytes, int]]:
        flags = buf[5]
        pos = 6 + (16 if flags & 0x20 else 0) + (4 if flags & 0x10 else 0)
        width = 1 << (flags & 0x03)
        size = _uint(buf, pos, width)
        pos += width
        track_order = bool(flags & 0x04)
        # (read with the chunk's checksum, which a kept walk's replay then compares too)
        blocks = [self._block(addr, size + 4, buf, pos)[:size]]
        seen = {addr}
        head = 6 if track_order else 4
        while blocks:
            block = blocks.pop(0)
            mpos = 0
            end = len(block)
            while mpos + head <= end:
                if track_order:
                    mtype, msize, mflags, crt = _V2_ORDERED_MESSAGE.unpack_from(block, mpos)
                else:
                    mtype, msize, mflags = _V2_MESSAGE.unpack_from(block, mpos)
                    crt = 0
                if wanted is None or mtype in wanted:
                    yield mtype, mflags, block[mpos + head : mpos + head + msize], crt
                if mtype == _CONTINUATION:
                    data = block[mpos + head : mpos + head + msize]
                    caddr, cont = self._continue(data, seen)
                    if cont[:4] != b"OCHK":
                        raise ChunkIndexError(f"bad continuation block at address {caddr}")
                    blocks.append(cont[4:-4])  # signature and checksum
                mpos += head + msize


def read_layout_message(
    read_at: ReadAt, header_addr: int, *, base: int, sizeof_addr: int, sizeof_len: int
) -> bytes | None:
    """Return the raw Data Layout message of the object header at ``header_addr``."""
    return _Header(read_at, base, sizeof_addr, sizeof_len).layout(header_addr)


def unfiltered_edges(layout: bytes) -> bool:
    """Return True when a v4+ chunked layout stores partial edge chunks unfiltered.

    That is ``H5Pset_chunk_opts(H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS)``: such chunks skip the
    filter pipeline *without* a filter mask, so no single codec pipeline decodes them all.
    """
    # Layout versions 4 and 5 (HDF5 2.0) share the chunked-class flags byte.
    return len(layout) > 2 and layout[0] >= 4 and layout[1] == 2 and bool(layout[2] & 0x01)


def _btree_address(layout: bytes, sizeof_addr: int) -> tuple[int, int, list[int]] | None:
    """Return ``(B-tree address, dimensionality, chunk dims)`` for a chunked v1-3 layout.

    The chunk dims are the chunk's size along each axis, then the element size (what the
    B-tree keys' offsets are divided by). None for other layouts.
    """
    version = layout[0]
    if version == 3:
        if layout[1] != 2:
            return None
        dimensionality, at = layout[2], 3
    elif version in (1, 2):
        dimensionality, klass = layout[1], layout[2]
        if klass != 2:
            return None
        at = 8
    else:
        return None  # version 4: newer chunk indexes
    dims = struct.unpack_from(f"<{dimensionality}I", layout, at + sizeof_addr)
    return _uint(layout, at, sizeof_addr), dimensionality, list(dims)


def _less(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row by row, whether ``a`` sorts before ``b`` lexicographically (HDF5's key order).

    (Equal rows: the first "differing" column is column 0, where they are equal: False.)
    """
    first = (a != b).argmax(axis=1)[:, None]
    less: np.ndarray = (np.take_along_axis(a, first, 1) < np.take_along_axis(b, first, 1))[:, 0]
    return less


def _check_keys(
    keys: np.ndarray,
    finals: np.ndarray,
    counts: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray] | None,
    nodes: list[int],
    leaves: bool,
) -> np.ndarray:
    """Check one level of a chunk B-tree: the keys HDF5's lookup follows.

    ``keys`` holds the entries' keys of every node of the level in turn, ``finals`` each
    node's last key, ``counts`` each node's number of entries (all in chunks, as HDF5
    compares keys); ``bounds`` the lower and upper key its parent gives each node. A
    node's keys must increase, its entries lie within its bounds, and a leaf entry's
    element coordinate is 0: else HDF5, descending to the child whose keys enclose a
    chunk, misses chunks that walking the nodes still lists. Returns each entry's upper
    bound (its lower bound is its key), the bounds of its child on the next level.
    """
    last = np.cumsum(counts) - 1  # each node's last entry (a node may have none)
    full = counts > 0
    high = np.empty_like(keys)  # each entry's upper bound: the key after it in its node
    high[:-1] = keys[1:]
    high[last[full]] = finals[full]
    ordered = _less(keys, high)
    if not ordered.all():
        bad = int(np.searchsorted(last, np.argmin(ordered)))
        raise ChunkKeyError(f"the keys of chunk B-tree node {nodes[bad]} are out of order")
    if bounds is not None:
        first = last[full] - counts[full] + 1
        inside = ~_less(keys[first], bounds[0][full]) & _less(keys[last[full]], bounds[1][full])
        if not inside.all():
            bad = int(np.flatnonzero(full)[np.argmin(inside)])
            raise ChunkKeyError(f"the keys of chunk B-tree node {nodes[bad]} are out of order")
    if leaves and keys[:, -1].any():
        bad = int(np.searchsorted(last, np.argmax(keys[:, -1] > 0)))
        raise ChunkKeyError(f"chunk B-tree node {nodes[bad]} has a nonzero element key")
    return high


def _check_leaf(
    keys: list[list[int]], final: list[int], bounds: tuple[list[int], list[int]] | None, node: int
) -> None:
    """:func:`_check_keys` for a level of one leaf, on Python lists.

    (The usual small file's tree is one leaf of a few entries: list comparisons, which are
    lexicographic as HDF5's, cost a fraction of the numpy calls there.)
    """
    if any(a >= b for a, b in zip(keys, [*keys[1:], final], strict=True)) or (
        bounds is not None and keys and (keys[0] < bounds[0] or keys[-1] >= bounds[1])
    ):
        raise ChunkKeyError(f"the keys of chunk B-tree node {node} are out of order")
    if any(key[-1] for key in keys):
        raise ChunkKeyError(f"chunk B-tree node {node} has a nonzero element key")


FEW_ROWS = 64
"""A tree that is one leaf of at most this many entries is read in Python (:func:`_leaf_rows`):
numpy's per-call cost is most of the work for a few rows."""


@functools.lru_cache(maxsize=64)
def _entry_struct(dimensionality: int, sizeof_addr: int) -> struct.Struct:
    """Return :func:`_entry_dtype` as a :class:`struct.Struct` (the same packed layout)."""
    return struct.Struct(f"<II{dimensionality}Q{'I' if sizeof_addr == 4 else 'Q'}")


_U64_MASK = (1 << 64) - 1


def _leaf_rows(
    block: bytes,
    final: bytes,
    dims: list[int],
    ndim: int,
    sizeof_addr: int,
    base: int,
    node: int,
) -> list[list[int]]:
    """:func:`read_v1_chunk_rows`'s rows of a tree that is one leaf, on Python ints.

    ``block`` holds the leaf's entries (key and child address each), ``final`` the
    offsets of its last key, ``dims`` the chunk dims and element size. The keys are
    checked as :func:`_check_leaf` checks them after numpy's reading; byte offsets wrap
    at 2**64 as numpy's ``uint64`` sum does.
    """
    dimensionality = len(dims)
    keys: list[list[int]] = []
    rows: list[list[int]] = []
    for entry in _entry_struct(dimensionality, sizeof_addr).iter_unpack(block):
        offs = entry[2 : 2 + dimensionality]
        keys.append([o // d for o, d in zip(offs, dims, strict=True)])
        rows.append([*offs[:ndim], (entry[-1] + base) & _U64_MASK, entry[0], entry[1]])
    last = struct.unpack(f"<{dimensionality}Q", final)
    _check_leaf(keys, [o // d for o, d in zip(last, dims, strict=True)], None, node)
    return rows


@functools.lru_cache(maxsize=64)
def _entry_dtype(dimensionality: int, sizeof_addr: int) -> np.dtype[Any]:
    """Return the numpy dtype of one key and child pointer of a chunk B-tree node."""
    addr_t = "<u4" if sizeof_addr == 4 else "<u8"
    return np.dtype(
        [("size", "<u4"), ("mask", "<u4"), ("offs", "<u8", (dimensionality,)), ("child", addr_t)]
    )


def read_v1_chunk_rows(
    read_at: ReadAt,
    header_addr: int,
    *,
    base: int,
    sizeof_addr: int,
    sizeof_len: int,
    ndim: int,
    layout: bytes | None = None,
) -> np.ndarray | list[list[int]] | None:
    """Return the chunk rows of one dataset from its v1 B-tree, or None for other indexes.

    Parameters
    ----------
    read_at
        Reads bytes at an absolute file offset.
    header_addr
        Address of the dataset's object header (relative to ``base``).
    base
        The file's base address (the user block size).
    sizeof_addr, sizeof_len
        Sizes of file addresses and lengths, from the superblock.
    ndim
        Rank of the dataset.
    layout
        The dataset's Data Layout message, when the caller has parsed the object header
        already (else it is read from the header at ``header_addr``).

    Returns
    -------
    numpy.ndarray or list of list of int or None
        ``uint64`` rows ``(element offset per axis..., byte offset, size, filter mask)``
        like :func:`vz_hdf5._reader._chunk_rows`, byte offsets absolute; the same rows as
        lists of Python ints when the tree is one leaf of at most :data:`FEW_ROWS`
        entries (:func:`_leaf_rows`); None when the dataset does not use a v1 B-tree
        chunk index.
    """
    if layout is None:
        layout = _Header(read_at, base, sizeof_addr, sizeof_len).layout(header_addr)
    if layout is None:
        return None
    found = _btree_address(layout, sizeof_addr)
    if found is None:
        return None
    root, dimensionality, dims = found
    if dimensionality != ndim + 1:
        raise ChunkIndexError(f"layout has {dimensionality - 1} dimensions, dataset {ndim}")
    if sizeof_addr not in (4, 8):
        return None
    entry = _entry_dtype(dimensionality, sizeof_addr)
    undefined = (1 << (8 * sizeof_addr)) - 1
    if root == undefined:
        return np.zeros((0, ndim + 3), np.uint64)
    head = 8 + 2 * sizeof_addr
    key_size = 8 + 8 * dimensionality
    if not all(dims):
        raise ChunkIndexError(f"layout has a chunk dimension of 0: {dims}")
    dims_array: np.ndarray | None = None  # (made for a tree read with numpy)
    level: list[int] = [root]
    bounds: tuple[np.ndarray, np.ndarray] | None = None
    while True:
        blocks: list[bytes] = []  # each node's entries (key + child address)
        finals: list[bytes] = []  # each node's last key (the upper bound of its last child)
        counts: list[int] = []
        depths = set()
        for node in level:
            want = head + _ENTRIES_GUESS * entry.itemsize + key_size
            buf = read_at(base + node, want)
            if buf[:4] != b"TREE" or buf[4] != 1:
                raise ChunkIndexError(f"no chunk B-tree node at address {node}")
            depths.add(buf[5])
            n = _uint(buf, 6, 2)
            need = head + n * entry.itemsize + key_size
            if len(buf) < need:
                buf = read_at(base + node, need)
                if len(buf) < need:
                    raise ChunkIndexError(f"B-tree node at address {node} is truncated")
            blocks.append(buf[head : need - key_size])
            finals.append(buf[need - key_size + 8 : need])
            counts.append(n)
        if len(depths) > 1:
            raise ChunkIndexError(f"chunk B-tree nodes {level} are at different depths")
        if bounds is None and depths == {0} and counts[0] <= FEW_ROWS:  # (a root leaf)
            return _leaf_rows(blocks[0], finals[0], dims, ndim, sizeof_addr, base, root)
        if dims_array is None:
            dims_array = np.asarray(dims, np.uint64)
        entries = np.frombuffer(b"".join(blocks), entry)
        keys = entries["offs"] // dims_array  # in chunks, as HDF5 compares keys
        last_keys = np.frombuffer(b"".join(finals), "<u8").reshape(-1, dimensionality) // dims_array
        if len(level) == 1 and depths == {0}:
            limits = None if bounds is None else (bounds[0][0].tolist(), bounds[1][0].tolist())
            _check_leaf(keys.tolist(), last_keys[0].tolist(), limits, level[0])
            break
        high = _check_keys(keys, last_keys, np.asarray(counts), bounds, level, depths == {0})
        if depths == {0} or not len(entries):
            break
        bounds = (keys, high)
        level = [int(c) for c in entries["child"].tolist()]
    allk = entries if depths == {0} else entries[:0]
    rows = np.empty((allk.size, ndim + 3), np.uint64)
    rows[:, :ndim] = allk["offs"][:, :ndim]
    rows[:, ndim] = allk["child"].astype(np.uint64) + np.uint64(base)
    rows[:, ndim + 1] = allk["size"]
    rows[:, ndim + 2] = allk["mask"]
    return rows
