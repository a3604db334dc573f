"""Attribute values decoded from the object header bytes, as h5py would return them.

Reading an attribute through h5py (``obj.attrs[name]``) opens an attribute id, asks for
its dataspace and datatype, builds a numpy type, converts and reads: ~65 µs for a value of
a few bytes, most of the reader's time on small CF files. The common attributes are
simple enough to decode straight from the attribute messages of the object header (file
format specification 3.0, "Attribute Message", "Datatype Message", "Dataspace Message"):

* fixed-point integers of 1, 2, 4 or 8 bytes at full precision, either byte order;
* IEEE 754 half, single and double floats, either byte order;
* fixed-length strings, any padding (``NULLTERM``, ``NULLPAD``, ``SPACEPAD``), ASCII or
  UTF-8, whose value is the same whichever way HDF5 converts them (no NUL followed by
  another byte; no NUL at all with ``SPACEPAD``);
* scalar and simple dataspaces (a one-element array stays an array, as in h5py);
* compact storage (attribute messages in the header, continuation blocks included) and
  dense storage (messages in a fractal heap found through the name index, a v2 B-tree;
  the readers of :mod:`vz_hdf5._gheap`).

The value of each is exactly what :class:`h5py.AttributeManager` returns: a numpy scalar
for a scalar dataspace, else an array of the stored dtype (byte order included), strings
as ``bytes`` (``numpy.bytes_``) with h5py's ``string_dtype`` for arrays. The names come in
h5py's iteration order: creation order when the header tracks it, else byte order of names.

Anything else (variable-length strings and sequences, references, compound, enum,
bitfield, opaque, array types, null dataspaces, shared messages or datatypes, padded or
unusual number layouts, strings that HDF5's conversion would change) is left to h5py,
attribute by attribute: :func:`header_attrs` returns the names and the values it decoded,
and the caller reads the others through h5py. Shared attribute messages, names that are
not UTF-8, or any structure this module cannot parse make it return ``None``:
the caller then reads that object's attributes through h5py alone.
"""

from __future__ import annotations

import operator
import struct
from typing import Any

import numpy as np

from vz_hdf5._btree import ChunkIndexError, _Header, _uint
from vz_hdf5._gheap import (
    HeapGuard,
    UnknownStructureError,
    _btree2_records,
    _FractalHeap,
    _keep,
    _positions,
    _same_reads,
    read_object,
)
from vz_hdf5._kept import make_room

__all__ = ["attrs_and_messages", "header_attrs"]

_ATTRIBUTE = 0x000C
_ATTR_INFO = 0x0015

DATASET_MESSAGES = frozenset({0x0001, 0x0003, 0x0004, 0x0005, 0x0007, 0x0008, 0x000B})
"""Dataspace, datatype, fill value (old and new), external files, data layout and filter
pipeline: the messages :mod:`vz_hdf5._header_dataset` decodes, collected in the same pass
as the attribute messages."""
LINK_INFO = 0x0002
"""The Link Info message of a new-style group (where its links are: see
:meth:`vz_hdf5._reader._Scanner._compact_links`), collected with the dataset messages."""
_OBJECT_MESSAGES = DATASET_MESSAGES | {LINK_INFO}
_WANTED = frozenset({_ATTRIBUTE, _ATTR_INFO, *_OBJECT_MESSAGES})
"""The messages :func:`_messages` asks the header walk for (the rest are not yielded)."""

_FLOAT_LAYOUTS = {
    # size: (sign location, bit offset, precision, exponent location, exponent size,
    #        mantissa location, mantissa size, exponent bias)
    2: (15, 0, 16, 10, 5, 0, 10, 15),
    4: (31, 0, 32, 23, 8, 0, 23, 127),
    8: (63, 0, 64, 52, 11, 0, 52, 1023),
}
"""IEEE 754 binary16/32/64 as a datatype message describes them."""

_UNDECODED = object()
"""A datatype this module leaves to h5py."""

_TYPES: dict[bytes, Any] = {}
"""Decoded datatype messages: a numpy dtype, a ``(length, padding, encoding)`` string
type, or :data:`_UNDECODED` (the few types files use recur in every file)."""


def _dtype(tbuf: bytes) -> Any:
    """Return what the datatype message ``tbuf`` decodes to (see :data:`_TYPES`)."""
    found = _TYPES.get(tbuf)
    if found is not None:
        return found
    found = _parse_dtype(tbuf)
    if len(_TYPES) < 4096:
        _TYPES[tbuf] = found
    return found


def _parse_dtype(tbuf: bytes) -> Any:
    if len(tbuf) < 8:
        return _UNDECODED
    klass = tbuf[0] & 0x0F
    bits = _uint(tbuf, 1, 3)
    size = _uint(tbuf, 4, 4)
    if klass == 0:  # fixed-point
        if size not in (1, 2, 4, 8) or len(tbuf) < 12:
            return _UNDECODED
        offset, precision = _uint(tbuf, 8, 2), _uint(tbuf, 10, 2)
        if offset != 0 or precision != 8 * size:
            return _UNDECODED
        order = ">" if bits & 0x01 else "<"
        return np.dtype(f"{order}{'i' if bits & 0x08 else 'u'}{size}")
    if klass == 1:  # floating point
        layout = _FLOAT_LAYOUTS.get(size)
        if layout is None or len(tbuf) < 20 or bits & 0x40:  # (bit 6: VAX byte order)
            return _UNDECODED
        if (bits >> 4) & 0x03 != 2:  # mantissa normalization: implied most significant bit
            return _UNDECODED
        found = (
            (bits >> 8) & 0xFF,
            _uint(tbuf, 8, 2),
            _uint(tbuf, 10, 2),
            tbuf[12],
            tbuf[13],
            tbuf[14],
            tbuf[15],
            _uint(tbuf, 16, 4),
        )
        if found != layout:
            return _UNDECODED
        return np.dtype(f"{'>' if bits & 0x01 else '<'}f{size}")
    if klass == 3:  # fixed-length string
        padding, cset = bits & 0x0F, (bits >> 4) & 0x0F
        if padding > 2 or cset > 1 or size == 0:
            return _UNDECODED
        return (size, padding, "utf-8" if cset else "ascii")
    return _UNDECODED


def _shape(space: bytes, lsize: int) -> tuple[int, ...] | None:
    """Return the shape of a dataspace message; None for a null or unusual one."""
    version, rank, flags = space[0], space[1], space[2]
    if version == 1:
        if flags & 0x02:  # a permutation index (never written by HDF5)
            return None
        pos = 8
    elif version == 2:
        if space[3] not in (0, 1):  # 2: null dataspace (h5py.Empty)
            return None
        pos = 4
    else:
        return None
    if len(space) < pos + rank * lsize:
        return None
    return tuple(_uint(space, pos + i * lsize, lsize) for i in range(rank))


def _strings(raw: bytes, size: int, padding: int) -> bool:
    """Return True when HDF5's string conversion leaves ``raw`` as numpy reads it."""
    if b"\x00" not in raw:
        # SPACEPAD: HDF5 strips trailing spaces; NULLTERM/NULLPAD: copied whole
        return padding != 2 or not any(raw[i + size - 1] == 0x20 for i in range(0, len(raw), size))
    if padding == 2:
        return False
    # NULLTERM/NULLPAD: HDF5 copies up to the first NUL, numpy drops trailing NULs
    for i in range(0, len(raw), size):
        item = raw[i : i + size]
        if item.rstrip(b"\x00").find(b"\x00") >= 0:
            return False
    return True


_LAYOUTS: dict[tuple[bytes, bytes, int], Any] = {}
"""Decoded (datatype, dataspace) pairs: ``(dtype, shape, nbytes, string)`` or
:data:`_UNDECODED`; ``string`` is ``(size, padding)`` for fixed-length strings, else None.
The few pairs CF files use (scalar floats, short strings) recur on every object of every
file, so each is parsed once per process."""


def _layout(tbuf: bytes, space: bytes, lsize: int) -> Any:
    """Return how to decode values of datatype ``tbuf`` and dataspace ``space``."""
    key = (tbuf, space, lsize)
    found = _LAYOUTS.get(key)
    if found is not None:
        return found
    found = _parse_layout(tbuf, space, lsize)
    if len(_LAYOUTS) < 4096:
        _LAYOUTS[key] = found
    return found


def _parse_layout(tbuf: bytes, space: bytes, lsize: int) -> Any:
    dtype = _dtype(tbuf)
    if dtype is _UNDECODED:
        return _UNDECODED
    shape = _shape(space, lsize)
    if shape is None:
        return _UNDECODED
    count = 1
    for n in shape:
        count *= n
    if isinstance(dtype, tuple):
        size, padding, encoding = dtype
        import h5py

        return h5py.string_dtype(encoding, size), shape, count * size, (size, padding)
    return dtype, shape, count * dtype.itemsize, None


def _value(tbuf: bytes, space: bytes, data: bytes, lsize: int) -> Any:
    """Decode one attribute's value, or return :data:`_UNDECODED`."""
    layout = _layout(tbuf, space, lsize)
    if layout is _UNDECODED:
        return _UNDECODED
    dtype, shape, nbytes, string = layout
    if len(data) < nbytes:
        return _UNDECODED
    raw = data[:nbytes]
    if string is not None and not _strings(raw, *string):
        return _UNDECODED
    if not shape:  # a scalar dataspace: the numpy scalar h5py gives (``arr[()]``)
        if string is not None:  # numpy's bytes_ scalar drops the trailing NULs
            return np.bytes_(raw.rstrip(b"\x00"))
        return np.frombuffer(raw, dtype)[0]
    return np.frombuffer(raw, dtype).reshape(shape).copy()


def _messages(
    header: _Header, addr: int, dataset: dict[int, tuple[int, bytes]]
) -> tuple[bool, list[tuple[int, int, bytes, int]]]:
    """Return the attribute-related messages of the header at ``addr``.

    Returns whether creation order is tracked and ``(type, flags, data, creation index)``
    of each attribute and attribute-info message, as
    :meth:`~vz_hdf5._btree._Header.indexed_messages` walks them (raising ChunkIndexError
    when they cannot be parsed). The messages of :data:`DATASET_MESSAGES` and the Link
    Info message go into ``dataset`` as ``{type: (flags, data)}`` (flags -1 for a type
    seen more than once).
    """
    track, messages = header.indexed_messages(addr, _WANTED)
    out: list[tuple[int, int, bytes, int]] = []
    for mtype, mflags, data, crt in messages:
        if mtype in (_ATTRIBUTE, _ATTR_INFO):
            out.append((mtype, mflags, data, crt))
        elif mtype in _OBJECT_MESSAGES:
            dataset[mtype] = (-1, b"") if mtype in dataset else (mflags, data)
    return track, out


class _NotDecodedError(Exception):
    """The object's attributes are all for h5py to read."""


_ATTRIBUTES: dict[int, dict[bytes, tuple[bytes, str, Any]]] = {}
"""Decoded attribute messages of at most :data:`_CACHED_MESSAGE` bytes, by length size
and message. The messages of a product's files recur from file to file (``units``,
``CLASS``, ``_Netcdf4Dimid``, ...), and decoding one is a pure function of its bytes."""

_CACHED_MESSAGE = 512


def _attribute(msg: bytes, lsize: int) -> tuple[bytes, str, Any]:
    """Return the raw name, name and value (or :data:`_UNDECODED`) of an attribute message.

    Each call returns its own copy of an array value (a numpy scalar or ``bytes_`` cannot
    change, and is shared).
    """
    key = msg if type(msg) is bytes else bytes(msg)  # (hashable)
    kept = _ATTRIBUTES.setdefault(lsize, {})
    found = kept.get(key)
    if found is None:
        found = _parse_attribute(msg, lsize)
        if len(msg) <= _CACHED_MESSAGE:
            make_room(kept)
            kept[key] = found
    value = found[2]
    if isinstance(value, np.ndarray):
        return found[0], found[1], value.copy()
    return found


def _parse_attribute(msg: bytes, lsize: int) -> tuple[bytes, str, Any]:
    aflags, npos, name_size, tpos, type_size, spos, space_size, dpos = _positions(msg)
    if name_size == 0 or dpos > len(msg) or msg[npos + name_size - 1] != 0:
        raise _NotDecodedError  # (HDF5 refuses a name without its terminating NUL)
    raw_name = msg[npos : npos + name_size - 1].split(b"\x00", 1)[0]
    try:
        name = raw_name.decode("utf-8")
    except UnicodeDecodeError:  # h5py gives such names as bytes
        raise _NotDecodedError from None
    if aflags & 0x03:  # shared datatype or dataspace
        return raw_name, name, _UNDECODED
    value = _value(msg[tpos : tpos + type_size], msg[spos : spos + space_size], msg[dpos:], lsize)
    return raw_name, name, value


def _dense(guard: HeapGuard, info: bytes) -> list[tuple[int, bytes | tuple[int, int]]]:
    """Return the attributes of dense attribute storage, where their messages are.

    Each is ``(creation index, message)`` for an object held in its heap ID, else
    ``(creation index, (file offset, length))`` (:meth:`~vz_hdf5._gheap._FractalHeap.locate`),
    read by :func:`_with_messages`.
    """
    pos = 2 + (2 if info[1] & 0x01 else 0)
    heap_addr = _uint(info, pos, guard.o)
    name_index = _uint(info, pos + guard.o, guard.o)
    if heap_addr == guard._undefined:
        return []
    heap = _FractalHeap(guard, heap_addr)
    out: list[tuple[int, bytes | tuple[int, int]]] = []
    n = heap.id_len
    for record in _btree2_records(guard, name_index):
        if len(record) < n + 5 or record[n] & 0x02:  # a shared attribute message
            raise _NotDecodedError
        out.append((int.from_bytes(record[n + 1 : n + 5], "little"), heap.locate(record[:n])))
    return out


_Found = tuple[bool, list[tuple[int, Any]], dict[int, tuple[int, bytes]]]
"""What :func:`_find` returns: whether creation order is tracked, each attribute's
``(creation index, message or where it is)`` and the dataset messages."""


def _find(guard: HeapGuard, addr: int) -> _Found:
    """Walk the object header at ``addr`` and its dense attribute storage."""
    header = _Header(guard.read_at, guard.base, guard.o, guard.lsize)
    dataset: dict[int, tuple[int, bytes]] = {}
    track, messages = _messages(header, addr, dataset)
    attributes: list[tuple[int, Any]] = []
    for mtype, mflags, msg, crt in messages:
        if mtype == _ATTR_INFO:
            attributes.extend(_dense(guard, msg))
        elif mflags & 0x02:  # a shared attribute message
            raise _NotDecodedError
        else:
            attributes.append((crt, msg))
    return track, attributes, dataset


def _with_messages(guard: HeapGuard, found: list[tuple[int, Any]]) -> list[tuple[int, bytes]]:
    """Return ``found`` with the messages of dense storage read from their heap."""
    for _, msg in found:  # (a loop: cheaper than all() over a generator)
        if type(msg) is not bytes:
            break
    else:
        return found
    whole = guard.whole
    out: list[tuple[int, bytes]] = []
    for crt, msg in found:
        if type(msg) is not bytes:
            if whole is None:
                msg = read_object(guard.read_at, *msg)
            else:  # (read_object's read, over the bytes read_at slices)
                offset, length = msg
                msg = whole[offset : offset + length]
                if len(msg) < length:
                    raise UnknownStructureError("fractal heap object past the end of the file")
        out.append((crt, msg))
    return out


def _assemble(
    track: bool,
    attributes: list[tuple[int, bytes]],
    dataset: dict[int, tuple[int, bytes]],
    lsize: int,
) -> Decoded:
    """Decode the attribute messages of one object (names in h5py's order)."""
    named: list[tuple[Any, str]] = []
    values: dict[str, Any] = {}
    undecoded: dict[str, bytes] = {}
    sources: dict[str, tuple[bytes, str, Any]] = {}
    kept = _ATTRIBUTES.get(lsize, {})
    messages: list[bytes] = []
    for crt, msg in attributes:
        messages.append(msg)
        found = kept.get(msg)  # (:func:`_attribute`, inline for the messages it kept)
        if found is None:
            raw_name, name, value = _attribute(msg, lsize)
            if value is _UNDECODED:
                undecoded[name] = msg
            else:
                values[name] = value
        else:
            raw_name, name, value = found
            if value is _UNDECODED:
                undecoded[name] = msg
            else:
                sources[name] = found
                values[name] = value.copy() if isinstance(value, np.ndarray) else value
        named.append((crt if track else raw_name, name))
    named.sort(key=_first)
    names = [n for _, n in named]
    if len(set(names)) != len(names):
        raise _NotDecodedError
    return names, values, messages, undecoded, dataset, sources


_first = operator.itemgetter(0)

Decoded = tuple[
    list[str],
    dict[str, Any],
    list[bytes],
    dict[str, bytes],
    dict[int, tuple[int, bytes]],
    dict[str, tuple[bytes, str, Any]],
]
"""What :func:`attrs_and_messages` returns: names, decoded values, every attribute
message, the messages of the attributes left to h5py by name, the dataset messages
(:data:`DATASET_MESSAGES`, ``{type: (flags, data)}``) for :mod:`vz_hdf5._header_dataset`,
and, by name, the :data:`_ATTRIBUTES` entry a value was taken from when it was kept
(the same object for the same message in every file: :func:`vz_hdf5._attrs.read_attrs`
keeps its conversion by it)."""


def header_attrs(guard: HeapGuard, addr: int) -> tuple[list[str], dict[str, Any]] | None:
    """Decode the attributes of the object whose header is at ``addr``.

    Parameters
    ----------
    guard
        The file's :class:`~vz_hdf5._gheap.HeapGuard` (its reader, base address, sizes
        of addresses and lengths, fractal heap and v2 B-tree readers).
    addr
        Address of the object header (relative to the base address).

    Returns
    -------
    tuple of (list of str, dict) or None
        Every attribute name in h5py's iteration order and the values decoded here, keyed
        by name (attributes missing from it are for h5py to read); None when the object's
        attributes must all be read through h5py (shared messages, names that are not
        UTF-8, structures this module cannot parse).
    """
    found = attrs_and_messages(guard, addr)
    return None if found is None else (found[0], found[1])


def attrs_and_messages(
    guard: HeapGuard, addr: int, walk: list[Any] | None = None
) -> Decoded | None:
    """Return :func:`header_attrs`'s names and values and the attribute messages they came from.

    The messages (compact and dense storage, none of them shared) are what
    :meth:`~vz_hdf5._gheap.HeapGuard.check_attributes` checks, so the object header and its
    dense storage are parsed once for both; the messages of the attributes not decoded
    here, by name, let the reader resolve ``DIMENSION_LIST`` without h5py
    (:meth:`~vz_hdf5._gheap.HeapGuard.object_references`).

    The walk of the header and its dense storage is kept with every byte it read
    (:data:`_REPLAYS`): the object at the same address of the next file of a product,
    whose reads give the same bytes, has the same messages without the walk.

    ``walk``, when given, gets the walk's result appended (on success): the same object
    when the next file's walk is replayed from it, so the caller can tell that the header
    read the same bytes (first block with its checksum, continuation blocks, dense
    storage) as one it has seen; then the end of the walk's reads (the file offset after
    the last byte it compares: None when it is not kept).
    """
    try:
        key = (addr, guard.base, guard.o, guard.lsize)
        kept = _REPLAYS.get(key)
        if kept is not None and _same_reads(guard, kept[0]):
            reads: list[tuple[int, int, bytes]] | None = kept[0]
            found: _Found = kept[1]
        else:
            recorded: list[tuple[int, int, bytes]] = []
            found = _find(guard.recording(recorded, fresh=False), addr)
            reads = _keep_walk(key, recorded, found)
        track, located, dataset = found
        decoded = _assemble(track, _with_messages(guard, located), dict(dataset), guard.lsize)
        if walk is not None:
            walk.append(found)
            walk.append(None if reads is None else max(o + n for o, n, _ in reads))
        return decoded
    except (
        _NotDecodedError,
        UnknownStructureError,
        ChunkIndexError,
        IndexError,
        ValueError,
        struct.error,
    ):
        return None


_REPLAYS: dict[tuple[int, int, int, int], tuple[list[tuple[int, int, bytes]], _Found]] = {}
"""Object header walks (:func:`_find`) kept by (header address, base address, sizes of
addresses and lengths). The walk is a function of those four numbers and of what its
reads return, so reads returning the same bytes find the same messages. Files of one
product hold the same objects at the same addresses; what differs from file to file is
most often an attribute value, and the attribute messages of dense storage are not part
of the walk: their heap objects are read again (:func:`_with_messages`), and every
message is decoded as before (:func:`_attribute` keeps the decode of each message)."""

_REPLAY_ENTRIES = 1024
_REPLAY_BYTES = 8192
"""A walk that read more than this many bytes is not kept (at most ~8 MiB kept in all)."""


def _keep_walk(
    key: tuple[int, int, int, int], recorded: list[tuple[int, int, bytes]], found: _Found
) -> list[tuple[int, int, bytes]] | None:
    """Keep a walk, when its reads are few enough (the header's first read cut to its use).

    Returns the reads as they are kept (None: a header of neither version 1 nor 2).
    """
    reads = _header_extent(recorded)
    if reads is not None:
        _keep(_REPLAYS, key, reads, found, entries=_REPLAY_ENTRIES, max_bytes=_REPLAY_BYTES)
    return reads


def _header_extent(reads: list[tuple[int, int, bytes]]) -> list[tuple[int, int, bytes]] | None:
    """Return ``reads`` with the first (the object header's first block) cut to what was used.

    :meth:`~vz_hdf5._btree._Header.indexed_messages` reads :data:`~vz_hdf5._btree._HEAD_READ`
    bytes at the header's address, more than a small header holds; the walk uses the
    prefix and, when it is all there, the message block after it (else it reads the block
    again, a read of its own). A version-2 header's block is kept with the checksum after
    it (read with the block when that is read again): a kept walk then stands for bytes
    HDF5 would accept or refuse alike. None when the header is neither version 1 nor 2.
    """
    if not reads:
        return None
    offset, _, buf = reads[0]
    if buf[:4] == b"OHDR":
        flags = buf[5]
        pos = 6 + (16 if flags & 0x20 else 0) + (4 if flags & 0x10 else 0)
        width = 1 << (flags & 0x03)
        start = pos + width
        end = start + _uint(buf, pos, width) + 4  # (the checksum after the block)
    elif buf[:1] == b"\x01":
        start = 16
        end = start + _uint(buf, 8, 4)
    else:
        return None
    used = end if len(buf) >= end else start
    return [(offset, used, buf[:used]), *reads[1:]]
