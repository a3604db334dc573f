"""A dataset's shape, type, layout, filters and fill value decoded from its object header.

For every dataset the reader needs its dataspace, datatype, storage layout, filter pipeline
and fill value. Asking h5py costs a creation property list, a type id, a space id and a
numpy type per dataset, and a dozen calls into HDF5 (~0.1 ms per dataset, the largest part
of the reader's own time on small files). The object header is already parsed for the
attributes (:func:`vz_hdf5._header_attrs.attrs_and_messages` collects these messages in the
same pass), so the common cases are decoded here from the messages themselves (file format
specification 3.0: "Dataspace", "Datatype", "Fill Value", "Data Layout", "Filter Pipeline"):

* simple and scalar dataspaces (versions 1 and 2), with their maximum dimensions;
* fixed-point integers of 1, 2, 4 or 8 bytes and IEEE half, single and double floats at
  full precision, either byte order (the number types h5py maps to a plain numpy dtype);
* compact, contiguous and chunked layouts of message versions 3 and 4;
* filter pipelines of versions 1 and 2 made of filters vz-hdf5 knows by id;
* fill value messages of versions 2 and 3 (the one HDF5 1.6 and later write).

Anything else (other type classes, committed or shared messages, an old fill value message
alone, external storage, virtual layouts, layout versions 1, 2 and 5, unknown filters,
unexpected lengths) gives ``None`` and the reader asks h5py, so an answer from here is
one h5py would give (``tests/test_hdf5_header_dataset.py`` compares them over generated
files of every kind).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vz_hdf5._btree import _uint
from vz_hdf5._filters import FILTER_NAMES
from vz_hdf5._gheap import _DATASPACE, _DATATYPE, _FILL, _FILL_OLD, _LAYOUT
from vz_hdf5._header_attrs import DATASET_MESSAGES, _dtype
from vz_hdf5._kept import make_room

__all__ = ["DATASET_MESSAGES", "HeaderDataset", "header_dataset"]

_EXTERNAL = 0x0007
_FILTERS = 0x000B

assert frozenset({_DATASPACE, _DATATYPE, _FILL_OLD, _FILL, _EXTERNAL, _LAYOUT, _FILTERS}) == (
    DATASET_MESSAGES
)

COMPACT, CONTIGUOUS, CHUNKED = 0, 1, 2
"""Layout classes (the values of ``h5py.h5d.COMPACT``, ``CONTIGUOUS``, ``CHUNKED``)."""

_FILL_TIME_NEVER = 1  # H5D_FILL_TIME_NEVER (ALLOC 0, NEVER 1, IFSET 2)


@dataclass(frozen=True, slots=True)
class HeaderDataset:
    """What the reader asks h5py about a dataset, decoded from its object header."""

    shape: tuple[int, ...]
    maxshape: tuple[int | None, ...]
    """h5py's ``maxshape``: None for an unlimited axis."""
    dtype: np.dtype[Any]
    layout: int
    """:data:`COMPACT`, :data:`CONTIGUOUS` or :data:`CHUNKED`."""
    chunks: tuple[int, ...] | None
    """Chunk shape (chunked layout), else None."""
    address: int | None
    """Address of a contiguous dataset's data (None: not allocated, or another layout)."""
    filters: tuple[tuple[int, int, tuple[int, ...], str], ...]
    """``(filter id, flags, client data, name)`` per filter, as the reader builds them."""
    fill: Any
    """The user-defined fill value as h5py's ``fillvalue`` gives it; None when the file
    keeps HDF5's default (zeros)."""
    writes_no_fill: bool
    """Fill time "never" (HDF5 writes no fill values into new chunks)."""


class _UndecodedError(Exception):
    """Something here is for h5py to read."""


def header_dataset(
    messages: dict[int, tuple[int, bytes]] | None, sizeof_addr: int, sizeof_len: int
) -> HeaderDataset | None:
    """Decode a dataset's metadata from its header messages, or return None for h5py.

    Parameters
    ----------
    messages
        The dataset messages of the object header, ``{type: (message flags, data)}``;
        a type seen twice is recorded with flags ``-1`` (which gives None).
    sizeof_addr, sizeof_len
        Sizes of addresses and lengths, from the superblock.
    """
    if not messages or _EXTERNAL in messages:
        return None
    size = 0
    for _, data in messages.values():  # (a loop: the generator expressions cost more)
        if type(data) is not bytes:
            size = _CACHED_MESSAGES + 1
            break
        size += len(data)
    kept = size <= _CACHED_MESSAGES
    key = (frozenset(messages.items()), sizeof_addr, sizeof_len) if kept else None
    if key is not None and key in _DECODED:
        return _DECODED[key]
    try:
        found: HeaderDataset | None = _decode(messages, sizeof_addr, sizeof_len)
    except (_UndecodedError, IndexError, ValueError, KeyError):
        found = None
    if key is not None:
        make_room(_DECODED)
        _DECODED[key] = found
    return found


_DECODED: dict[tuple[frozenset[tuple[int, tuple[int, bytes]]], int, int], HeaderDataset | None] = {}
"""Decoded message sets (a frozen result, or None for h5py) of at most
:data:`_CACHED_MESSAGES` bytes. The datasets of a product's files are alike from file to
file (a contiguous one's address included), and decoding is a pure function of the
messages."""

_CACHED_MESSAGES = 1024


def _data(messages: dict[int, tuple[int, bytes]], mtype: int) -> bytes:
    flags, data = messages[mtype]
    if flags & 0x02 or flags < 0:  # shared (committed) message, or seen twice
        raise _UndecodedError
    return data


def _decode(
    messages: dict[int, tuple[int, bytes]], sizeof_addr: int, sizeof_len: int
) -> HeaderDataset:
    shape, maxshape = _space(_data(messages, _DATASPACE), sizeof_len)
    dtype = _dtype(_data(messages, _DATATYPE))
    if not isinstance(dtype, np.dtype):  # strings, and every class but numbers: h5py
        raise _UndecodedError
    layout, chunks, address = _layout(_data(messages, _LAYOUT), len(shape), dtype, sizeof_addr)
    filters = _filters(_data(messages, _FILTERS)) if _FILTERS in messages else ()
    if filters and layout != CHUNKED:
        raise _UndecodedError
    if _FILL not in messages:
        raise _UndecodedError  # (an old-style fill value message alone: HDF5 < 1.6)
    fill, never = _fill(_data(messages, _FILL), dtype)
    return HeaderDataset(shape, maxshape, dtype, layout, chunks, address, filters, fill, never)


def _space(space: bytes, lsize: int) -> tuple[tuple[int, ...], tuple[int | None, ...]]:
    version, rank, flags = space[0], space[1], space[2]
    if version == 1:
        if flags & 0x02:  # permutation index
            raise _UndecodedError
        pos = 8
    elif version == 2:
        if space[3] == 0:  # scalar
            return (), ()
        if space[3] != 1:  # null dataspace: the reader's h5py path reports it
            raise _UndecodedError
        pos = 4
    else:
        raise _UndecodedError
    end = pos + rank * lsize * (2 if flags & 0x01 else 1)
    if len(space) < end:
        raise _UndecodedError
    shape = tuple(_uint(space, pos + i * lsize, lsize) for i in range(rank))
    if not flags & 0x01:
        return shape, shape
    unlimited = (1 << (8 * lsize)) - 1
    pos += rank * lsize
    maxdims = (_uint(space, pos + i * lsize, lsize) for i in range(rank))
    return shape, tuple(None if m == unlimited else m for m in maxdims)


def _layout(
    layout: bytes, rank: int, dtype: np.dtype[Any], sizeof_addr: int
) -> tuple[int, tuple[int, ...] | None, int | None]:
    version, klass = layout[0], layout[1]
    if version not in (3, 4):
        raise _UndecodedError
    if klass == COMPACT:
        return COMPACT, None, None
    if klass == CONTIGUOUS:
        if len(layout) < 2 + sizeof_addr:
            raise _UndecodedError
        address = _uint(layout, 2, sizeof_addr)
        return CONTIGUOUS, None, None if address == (1 << (8 * sizeof_addr)) - 1 else address
    if klass != CHUNKED:
        raise _UndecodedError
    if version == 3:
        ndims, pos, width = layout[2], 3 + sizeof_addr, 4
    else:
        ndims, width, pos = layout[3], layout[4], 5
    dims = tuple(_uint(layout, pos + i * width, width) for i in range(ndims))
    if len(layout) < pos + ndims * width or ndims != rank + 1 or dims[-1] != dtype.itemsize:
        raise _UndecodedError
    if not rank or 0 in dims:
        raise _UndecodedError
    return CHUNKED, dims[:-1], None


def _filters(pipeline: bytes) -> tuple[tuple[int, int, tuple[int, ...], str], ...]:
    version, count = pipeline[0], pipeline[1]
    pos = 8 if version == 1 else 2
    if version not in (1, 2):
        raise _UndecodedError
    out = []
    for _ in range(count):
        code = _uint(pipeline, pos, 2)
        pos += 2
        name_len = 0
        if version == 1 or code >= 256:
            name_len = _uint(pipeline, pos, 2)
            pos += 2
        flags, nvalues = _uint(pipeline, pos, 2), _uint(pipeline, pos + 2, 2)
        pos += 4
        if version == 1 and name_len % 8:
            raise _UndecodedError  # (version 1 pads names to a multiple of eight)
        pos += name_len
        values = tuple(_uint(pipeline, pos + 4 * i, 4) for i in range(nvalues))
        pos += 4 * nvalues
        if version == 1 and nvalues % 2:
            pos += 4
        if pos > len(pipeline) or code not in FILTER_NAMES:
            raise _UndecodedError  # (an unknown filter's name is HDF5's to give)
        out.append((code, flags, values, FILTER_NAMES[code]))
    return tuple(out)


def _fill(fill: bytes, dtype: np.dtype[Any]) -> tuple[Any, bool]:
    """Return the user-defined fill value (None: HDF5's default) and whether fill time is never."""
    version = fill[0]
    if version == 2:
        fill_time, defined = fill[2], fill[3]
        if fill_time > 2 or defined > 1:
            raise _UndecodedError
        if not defined:
            return None, fill_time == _FILL_TIME_NEVER
        size, pos = _uint(fill, 4, 4), 8
    elif version == 3:
        flags = fill[1]
        fill_time = (flags >> 2) & 0x03
        if flags & 0xC0 or fill_time > 2 or (flags & 0x10 and flags & 0x20):
            raise _UndecodedError
        if not flags & 0x20:
            if flags & 0x10:  # explicitly undefined
                raise _UndecodedError
            return None, fill_time == _FILL_TIME_NEVER
        size, pos = _uint(fill, 2, 4), 6
    else:
        raise _UndecodedError
    if size == 0:
        return None, fill_time == _FILL_TIME_NEVER  # "defined" as HDF5's default
    if size != dtype.itemsize or len(fill) < pos + size:
        raise _UndecodedError
    value = np.frombuffer(fill[pos : pos + size], dtype)[0]
    return value, fill_time == _FILL_TIME_NEVER
