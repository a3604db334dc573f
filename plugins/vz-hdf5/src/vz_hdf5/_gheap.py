"""A check of HDF5 global heap collections before HDF5 itself reads them.

Variable-length data (vlen strings, vlen sequences such as the ``DIMENSION_LIST`` of
dimension scales, old-style region references) lives in *global heap collections*; the raw
value of each element is ``(sequence length: 4 bytes, collection address, object index:
4 bytes)``. When HDF5 loads a collection it walks its objects, and a damaged size field can
make that walk loop forever (libhdf5 2.0, ``H5HG__cache_heap_deserialize``: a free-space
object of size 0 never advances), inside the library lock, where Python cannot interrupt it.

:class:`HeapGuard` finds the collections an object will make HDF5 read, with plain reads
of the file, and walks each collection the way HDF5 does (file format specification 3.0,
"Global Heap"): ``"GCOL"``, version 1, 3 reserved bytes, the collection size (a length),
then objects of ``index (2), reference count (2), reserved (4), size (length), data padded
to 8 bytes``, index 0 being free space (whose size includes its header). A collection
whose walk would not terminate, or whose objects overrun it, raises :class:`HeapError`.

Where the collections come from:

* **attributes**: the attribute messages of the object header (continuation blocks
  included) or, for dense attribute storage, the fractal heap found through the
  attribute name index (a version-2 B-tree); each message's datatype says where vlen (and
  region-reference) slots sit in an element, the dataspace how many elements there are;
* **dataset fill values** (the Fill Value messages of a vlen dataset);
* **dataset values**: the raw elements of a contiguous or compact dataset, or of each
  chunk of a chunked one (read with ``H5Dread_chunk``, unfiltered with numcodecs);
* vlen data whose base type holds vlen data again: the heap objects themselves.

Structures this module does not parse (shared attribute messages in the shared-message
table, committed datatypes of other formats, "huge" fractal heap objects, filtered
fractal heaps, nested indirect blocks, new-style references) make the check report
"unknown" for that object: HDF5 then reads it unchecked, as before.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vz_hdf5._btree import ChunkIndexError, ReadAt, _Header, _uint
from vz_hdf5._kept import make_room

__all__ = ["HeapError", "HeapGuard", "UnknownStructureError"]

_DATATYPE = 0x0003
_FILL_OLD = 0x0004
_FILL = 0x0005
_LAYOUT = 0x0008
_ATTRIBUTE = 0x000C
_ATTR_INFO = 0x0015
_DATASPACE = 0x0001

_HEAP_CLASSES = frozenset({6, 7, 9, 10})  # compound, reference, vlen, array
_ATTRIBUTE_MESSAGES = frozenset({_ATTRIBUTE, _ATTR_INFO})
_MAX_OBJECTS = 1 << 20  # fractal heap objects / B-tree records per object: a sanity bound
_MAX_DEPTH = 8  # nesting of vlen inside vlen data


class HeapError(Exception):
    """A global heap collection is damaged (HDF5 would loop or read past it)."""


class UnknownStructureError(Exception):
    """A structure this module does not parse: leave the object to HDF5 unchecked."""


# -- datatypes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Slot:
    """One heap reference inside an element."""

    offset: int
    """Byte offset in the element."""
    base_size: int
    """Disk size of one sequence item (1 for strings); 0 for a region reference."""
    base_slots: tuple[_Slot, ...] = ()
    """Heap references inside one sequence item (vlen of vlen)."""


@dataclass(frozen=True)
class _Type:
    size: int
    slots: tuple[_Slot, ...] = field(default_factory=tuple)


def _parse_type(buf: bytes, pos: int, sizeof_addr: int) -> tuple[_Type, int]:
    """Parse a datatype message at ``pos``; return it and the position after it."""
    cv = buf[pos]
    klass, version = cv & 0x0F, cv >> 4
    bits = _uint(buf, pos + 1, 3)
    size = _uint(buf, pos + 4, 4)
    p = pos + 8
    if klass == 0:  # fixed-point
        return _Type(size), p + 4
    if klass == 1:  # floating point
        return _Type(size), p + 12
    if klass == 2:  # time
        return _Type(size), p + 2
    if klass == 3:  # string
        return _Type(size), p
    if klass == 4:  # bitfield
        return _Type(size), p + 4
    if klass == 5:  # opaque: tag padded to 8 bytes
        return _Type(size), p + (bits & 0xFF)
    if klass == 6:  # compound
        slots: list[_Slot] = []
        for _ in range(bits & 0xFFFF):
            end = buf.index(b"\x00", p)
            if version < 3:
                p += (end - p + 8) // 8 * 8
                moff = _uint(buf, p, 4)
                p += 4
                if version == 1:
                    ndims = buf[p]
                    p += 28  # dimensionality, reserved, permutation, reserved, 4 dims
                    if ndims:
                        raise UnknownStructureError(
                            "version 1 compound member with array dimensions"
                        )
            else:
                p = end + 1
                width = max(1, (size.bit_length() + 7) // 8)
                moff = _uint(buf, p, width)
                p += width
            member, p = _parse_type(buf, p, sizeof_addr)
            slots.extend(_Slot(moff + s.offset, s.base_size, s.base_slots) for s in member.slots)
        return _Type(size, tuple(slots)), p
    if klass == 7:  # reference
        rtype = bits & 0x0F
        if version >= 4 or rtype > 1:
            raise UnknownStructureError(f"reference type {rtype} (datatype version {version})")
        if rtype == 1:  # old-style region reference: a global heap ID
            return _Type(size, (_Slot(0, 0),)), p
        return _Type(size), p
    if klass == 8:  # enumeration
        base, p = _parse_type(buf, p, sizeof_addr)
        n = bits & 0xFFFF
        for _ in range(n):
            end = buf.index(b"\x00", p)
            p = (p + (end - p + 8) // 8 * 8) if version < 3 else end + 1
        return _Type(size), p + n * base.size
    if klass == 9:  # variable-length sequence or string
        base, p = _parse_type(buf, p, sizeof_addr)
        item = 1 if bits & 0x0F == 1 else base.size
        return _Type(size, (_Slot(0, item, base.slots),)), p
    if klass == 10:  # array
        ndims = buf[p]
        p += 1 if version >= 3 else 4
        dims = struct.unpack_from(f"<{ndims}I", buf, p)
        p += 4 * ndims * (1 if version >= 3 else 2)
        base, p = _parse_type(buf, p, sizeof_addr)
        count = int(np.prod(dims, dtype=np.int64)) if dims else 1
        if base.slots and count > 65536:
            raise UnknownStructureError("very large array of variable-length items")
        slots = [
            _Slot(i * base.size + s.offset, s.base_size, s.base_slots)
            for i in range(count if base.slots else 0)
            for s in base.slots
        ]
        return _Type(size, tuple(slots)), p
    if klass == 11:  # complex (HDF5 2.0)
        _, p = _parse_type(buf, p, sizeof_addr)
        return _Type(size), p
    raise UnknownStructureError(f"datatype class {klass}")


def _count(space: bytes, sizeof_len: int) -> int:
    """Return the number of elements of a dataspace message."""
    version, ndims, flags = space[0], space[1], space[2]
    if version == 1:
        pos = 8
    elif version == 2:
        if space[3] == 2:  # null dataspace
            return 0
        pos = 4
    else:
        raise UnknownStructureError(f"dataspace version {version}")
    del flags
    n = 1
    for i in range(ndims):
        n *= _uint(space, pos + i * sizeof_len, sizeof_len)
    return n


_SIZES = struct.Struct("<HHH")


def _positions(msg: bytes) -> tuple[int, int, int, int, int, int, int, int]:
    """Return where the parts of an attribute message are.

    ``(flags, name position, name size, datatype position, datatype size, dataspace
    position, dataspace size, data position)``; ``flags`` bit 0: shared datatype, bit 1:
    shared dataspace.
    """
    version = msg[0]
    name_size, type_size, space_size = _SIZES.unpack_from(msg, 2)
    if version == 1:  # name, datatype and dataspace each padded to 8 bytes
        npos = 8
        tpos = npos + (name_size + 7) // 8 * 8
        spos = tpos + (type_size + 7) // 8 * 8
        dpos = spos + (space_size + 7) // 8 * 8
        flags = 0
    elif version in (2, 3):
        npos = 8 if version == 2 else 9
        tpos = npos + name_size
        spos = tpos + type_size
        dpos = spos + space_size
        flags = msg[1]
    else:
        raise UnknownStructureError(f"attribute message version {version}")
    return flags, npos, name_size, tpos, type_size, spos, space_size, dpos


_NO_HEAP_REFERENCES: set[bytes] = set()
"""Attribute messages (of at most :data:`_KEPT_MESSAGE` bytes) found to hold a type that
cannot point into the global heap: the same messages recur in every file of a product."""

_KEPT_MESSAGE = 512

_TYPES: dict[tuple[bytes, int], _Type] = {}
"""Parsed datatype messages (DIMENSION_LIST's and vlen strings' recur in every file)."""

_Reads = list[tuple[int, int, bytes]]

_CHECKED: dict[tuple[bytes, int, int, int], tuple[_Reads, None]] = {}
"""Attribute messages whose values may point into the global heap (``DIMENSION_LIST``)
that passed the check, by (message, base address, sizes of addresses and lengths), with
every ``(offset, size, bytes)`` the check read (collections, objects, committed types),
itself starting from nothing parsed. The check is a function of those and of what its
reads return: the same message whose reads give the same bytes passes again (files of
one product hold the same lists in the same collections); any other byte checks anew."""

_REFERENCES: dict[tuple[bytes, int, int, int], tuple[_Reads, list[tuple[int, ...]]]] = {}
""":meth:`HeapGuard.object_references` results kept the same way (and by the same rule)."""

_KEPT_ENTRIES = 256
_KEPT_BYTES = 16384
"""A check or lookup that read more than this many bytes is not kept (4 MiB per memo)."""


def _same_reads(guard: HeapGuard, reads: _Reads) -> bool:
    """Whether every read of ``reads`` gives the same bytes in ``guard``'s file."""
    whole = guard.whole
    if whole is not None:  # (offsets and sizes are >= 0: see _keep)
        for offset, size, data in reads:  # noqa: SIM110  # (cheaper than all() over a generator)
            if whole[offset : offset + size] != data:
                return False
        return True
    read_at = guard.read_at
    return all(read_at(offset, size) == data for offset, size, data in reads)


def _keep(
    memo: dict[Any, Any],
    key: Any,
    reads: _Reads,
    result: Any,
    *,
    entries: int = _KEPT_ENTRIES,
    max_bytes: int = _KEPT_BYTES,
) -> None:
    """Keep ``result`` with the reads that gave it, when they are few enough.

    At most ``entries`` results in ``memo`` (the oldest goes first), none whose reads
    total more than ``max_bytes``.
    """
    if sum(size for _, size, _ in reads) > max_bytes:
        return
    if any(offset < 0 or size < 0 for offset, size, _ in reads):
        return
    if key not in memo and len(memo) >= entries:
        with contextlib.suppress(StopIteration, KeyError, RuntimeError):  # (threads)
            del memo[next(iter(memo))]  # the oldest
    memo[key] = (reads, result)


# -- the guard -----------------------------------------------------------------------------


class HeapGuard:
    """Validates, once per file, the global heap collections objects will make HDF5 read.

    Parameters
    ----------
    read_at
        Reads bytes at an absolute file offset.
    base
        The file's base address (user block size).
    sizeof_addr, sizeof_len
        Sizes of addresses and lengths, from the superblock.
    file_size
        Size of the file in bytes.
    whole
        The whole file's bytes, when the caller holds them (``read_at`` reads from them).
    """

    def __init__(
        self,
        read_at: ReadAt,
        *,
        base: int,
        sizeof_addr: int,
        sizeof_len: int,
        file_size: int,
        whole: bytes | None = None,
    ) -> None:
        def clamped(offset: int, size: int) -> bytes:  # a damaged size reads no more
            return read_at(offset, max(0, min(size, file_size - offset)))

        self.read_at: ReadAt = clamped
        if whole is not None and len(whole) == file_size:

            def sliced(offset: int, size: int) -> bytes:  # clamped, in one call
                if offset < 0 or size < 0:
                    return clamped(offset, size)
                return whole[offset : offset + size]

            self.read_at = sliced
        self.base = base
        self.o = sizeof_addr
        self.lsize = sizeof_len
        self.file_size = file_size
        self.whole = whole if whole is not None and len(whole) == file_size else None
        """The file's bytes (what ``read_at`` gives at any offset and size >= 0), or None."""
        self._undefined = (1 << (8 * sizeof_addr)) - 1
        self._collections: dict[int, dict[int, tuple[int, int]]] = {}
        self._headers: dict[int, list[tuple[int, int, bytes]]] = {}

    # -- public --------------------------------------------------------------------------

    def check_attributes(
        self, header_addr: int, messages: Iterable[bytes] | None = None
    ) -> str | None:
        """Validate the collections the attributes of an object use.

        ``messages``, when given, are the object's attribute messages (compact and dense
        storage, none shared) as the caller has already parsed them from its header
        (:func:`vz_hdf5._header_attrs.attrs_and_messages`); the header is then not read again.

        Returns
        -------
        str or None
            None when every vlen attribute was checked, else why the check was incomplete.

        Raises
        ------
        HeapError
            A collection is damaged; the message names the attribute.
        """
        try:
            if messages is not None:
                plain = _NO_HEAP_REFERENCES
                for data in messages:
                    if type(data) is not bytes or data not in plain:  # (_attribute's test)
                        self._attribute(data, 0)
                return None
            header = _Header(self.read_at, self.base, self.o, self.lsize)
            for mtype, flags, data in header.messages(header_addr, _ATTRIBUTE_MESSAGES):
                if mtype == _ATTRIBUTE:
                    self._attribute(data, flags)
                elif mtype == _ATTR_INFO:
                    self._dense(data)
        except UnknownStructureError as why:
            return str(why)
        except (ChunkIndexError, IndexError, ValueError, struct.error) as err:
            return f"unparsed header ({err})"
        return None

    def check_dataset(
        self, header_addr: int, chunks: Callable[[], Iterable[bytes]] | None = None
    ) -> str | None:
        """Validate the collections a vlen dataset's fill value and values use.

        ``chunks`` yields the unfiltered bytes of every allocated chunk (chunked layout).
        Returns like :meth:`check_attributes`.
        """
        try:
            messages = self._messages(header_addr)
            dtype = next((d for t, _, d in messages if t == _DATATYPE), None)
            if dtype is None:
                return "no datatype message"
            vtype, _ = _parse_type(dtype, 0, self.o)
            if not vtype.slots:
                return None
            for mtype, _, data in messages:
                if mtype == _FILL and data[0] in (1, 2) and data[3]:
                    self._elements(data[8 : 8 + _uint(data, 4, 4)], vtype, "fill value")
                elif mtype == _FILL and data[0] == 3 and data[1] & 0x20:
                    self._elements(data[6 : 6 + _uint(data, 2, 4)], vtype, "fill value")
                elif mtype == _FILL_OLD:
                    self._elements(data[4 : 4 + _uint(data, 0, 4)], vtype, "fill value")
            layout = next((d for t, _, d in messages if t == _LAYOUT), b"")
            klass = layout[1] if len(layout) > 1 and layout[0] >= 3 else -1
            if klass == 0:  # compact: the values are in the header
                self._elements(layout[4 : 4 + _uint(layout, 2, 2)], vtype, "values")
            elif klass == 1:  # contiguous
                addr, size = _uint(layout, 2, self.o), _uint(layout, 2 + self.o, self.lsize)
                if addr != self._undefined:
                    if self.base + addr + size > self.file_size:
                        raise HeapError(f"values at address {addr} ({size} bytes) overrun the file")
                    self._elements(self.read_at(self.base + addr, size), vtype, "values")
            elif chunks is not None:
                for raw in chunks():
                    self._elements(raw, vtype, "values")
            else:
                return f"dataset layout {layout[:2]!r} without a chunk reader"
        except UnknownStructureError as why:
            return str(why)
        except (ChunkIndexError, IndexError, ValueError, struct.error) as err:
            return f"unparsed header ({err})"
        return None

    # -- object headers ------------------------------------------------------------------

    def _messages(self, header_addr: int) -> list[tuple[int, int, bytes]]:
        found = self._headers.get(header_addr)
        if found is None:
            header = _Header(self.read_at, self.base, self.o, self.lsize)
            found = list(header.messages(header_addr))
            self._headers[header_addr] = found
        return found

    def object_references(self, msg: bytes) -> list[tuple[int, ...]] | None:
        """Return the object addresses held by an attribute of object-reference sequences.

        ``msg`` is an attribute message whose value is a 1-D array of variable-length
        sequences of (old-style) object references, as ``DIMENSION_LIST`` is; each
        sequence is read from its global heap object. Call it after
        :meth:`check_attributes` has validated the object's collections.

        Returns
        -------
        list of tuple of int or None
            The object header addresses of each element's sequence, in order; None for
            any other type or dataspace (shared or committed types, region or new-style
            references, other ranks) or a heap object that is missing or short, so the
            caller reads the attribute through h5py instead.
        """
        if type(msg) is not bytes:
            return self._object_references(msg)
        key = (msg, self.base, self.o, self.lsize)
        kept = _REFERENCES.get(key)
        if kept is not None and _same_reads(self, kept[0]):
            return list(kept[1])
        reads: list[tuple[int, int, bytes]] = []
        found = self.recording(reads)._object_references(msg)
        if found is not None:
            _keep(_REFERENCES, key, reads, list(found))  # (a list of its own: not the caller's)
        return found

    def _object_references(self, msg: bytes) -> list[tuple[int, ...]] | None:
        o = self.o
        try:
            flags, _, _, tpos, type_size, spos, space_size, dpos = _positions(msg)
            tbuf = msg[tpos : tpos + type_size]
            space = msg[spos : spos + space_size]
            if (
                flags & 0x03  # shared datatype or dataspace
                or len(tbuf) < 16
                or tbuf[0] & 0x0F != 9  # variable-length ...
                or tbuf[1] & 0x0F != 0  # ... sequence
                or _uint(tbuf, 4, 4) != 8 + o
                or tbuf[8] & 0x0F != 7  # of references ...
                or tbuf[8] >> 4 >= 4  # ... old-style ...
                or tbuf[9] & 0x0F != 0  # ... to objects
                or _uint(tbuf, 12, 4) != o
                or space[0] not in (1, 2)
                or space[1] != 1  # one dimension
                or (space[0] == 2 and space[3] != 1)  # simple
            ):
                return None
            n = _count(space, self.lsize)
            data = msg[dpos : dpos + n * (8 + o)]
            if len(data) < n * (8 + o):
                return None
            out: list[tuple[int, ...]] = []
            for i in range(n):
                pos = i * (8 + o)
                length = int.from_bytes(data[pos : pos + 4], "little")
                if length == 0:
                    out.append(())
                    continue
                addr = int.from_bytes(data[pos + 4 : pos + 4 + o], "little")
                idx = int.from_bytes(data[pos + 4 + o : pos + 8 + o], "little")
                found = self._collection(addr, "object references", required=True)
                found_obj = None if found is None else found.get(idx)
                if found_obj is None or found_obj[1] < length * o:
                    return None
                raw = self.read_at(self.base + addr + found_obj[0], length * o)
                if len(raw) < length * o:
                    return None
                out.append(
                    tuple(int.from_bytes(raw[j : j + o], "little") for j in range(0, length * o, o))
                )
        except (HeapError, UnknownStructureError, IndexError, ValueError, struct.error):
            return None  # (h5py reads it, as it did before this reader existed)
        return out

    def _attribute(self, msg: bytes, msg_flags: int) -> None:
        if msg_flags & 0x02:
            raise UnknownStructureError("shared attribute message")
        plain = type(msg) is bytes
        if plain and msg in _NO_HEAP_REFERENCES:
            return
        flags, _, _, tpos, _, _, _, _ = _positions(msg)
        if not flags & 0x01 and msg[tpos] & 0x0F not in _HEAP_CLASSES:
            # no class that can hold heap references: the common case, cheap
            if plain and len(msg) <= _KEPT_MESSAGE:
                make_room(_NO_HEAP_REFERENCES)
                _NO_HEAP_REFERENCES.add(msg)
            return
        if not plain:
            self._heap_attribute(msg)
            return
        key = (msg, self.base, self.o, self.lsize)
        kept = _CHECKED.get(key)
        if kept is not None and _same_reads(self, kept[0]):
            return  # (the same bytes as a check that passed)
        reads: list[tuple[int, int, bytes]] = []
        recording = self.recording(reads)
        recording._heap_attribute(msg)  # (raises on damage: nothing kept)
        _keep(_CHECKED, key, reads, None)
        self._collections.update(recording._collections)  # (this file's, walked)

    def recording(self, reads: list[tuple[int, int, bytes]], *, fresh: bool = True) -> HeapGuard:
        """Return a copy of this guard whose reads are appended to ``reads``.

        ``fresh``: the copy has parsed nothing yet (no headers or heap collections known),
        so that every byte a check depends on is read, and recorded, again; otherwise it
        shares what this guard has parsed (for walks that read through ``read_at`` only).
        """
        read_at = self.read_at

        def recorded(offset: int, size: int) -> bytes:
            data = read_at(offset, size)
            reads.append((offset, size, data))
            return data

        copy = object.__new__(type(self))  # (copy.copy's result, without its protocol)
        copy.__dict__.update(self.__dict__)
        copy.read_at = recorded
        if fresh:
            copy._collections = {}
            copy._headers = {}
        return copy

    def _heap_attribute(self, msg: bytes) -> None:
        """:meth:`_attribute` for a message whose type may hold heap references."""
        flags, npos, name_size, tpos, type_size, spos, space_size, dpos = _positions(msg)
        tbuf = msg[tpos : tpos + type_size]
        if flags & 0x01:
            tbuf = self._committed_type(tbuf)
        if flags & 0x02:
            raise UnknownStructureError("shared dataspace")
        key = (tbuf, self.o)
        vtype = _TYPES.get(key)
        if vtype is None:
            vtype = _parse_type(tbuf, 0, self.o)[0]
            if len(_TYPES) < 4096:  # the few types files use, across files
                _TYPES[key] = vtype
        if not vtype.slots:
            return
        n = _count(msg[spos : spos + space_size], self.lsize)
        name = msg[npos : npos + name_size].split(b"\x00")[0].decode("utf-8", "replace")
        self._elements(msg[dpos : dpos + n * vtype.size], vtype, f"attribute {name!r}")

    def _committed_type(self, shared: bytes) -> bytes:
        """Return the datatype message of the committed datatype ``shared`` points to."""
        version, stype = shared[0], shared[1]
        if stype != 2 and not (version < 3 and stype == 0):
            raise UnknownStructureError("datatype in the shared-message table")
        addr = _uint(shared, 8 if version == 1 else 2, self.o)
        for mtype, _, data in self._messages(addr):
            if mtype == _DATATYPE:
                return data
        raise UnknownStructureError("committed datatype without a datatype message")

    # -- dense attribute storage: fractal heap + version-2 B-tree ------------------------

    def _dense(self, info: bytes) -> None:
        flags = info[1]
        pos = 2 + (2 if flags & 0x01 else 0)
        heap_addr = _uint(info, pos, self.o)
        name_index = _uint(info, pos + self.o, self.o)
        if heap_addr == self._undefined:
            return
        heap = _FractalHeap(self, heap_addr)
        for record in _btree2_records(self, name_index):
            msg_flags = record[8]
            if msg_flags & 0x02:
                raise UnknownStructureError("shared attribute message in dense storage")
            self._attribute(heap.get(record[:8]), 0)

    # -- heap references -----------------------------------------------------------------

    def _elements(self, raw: bytes, vtype: _Type, what: str, depth: int = 0) -> None:
        """Validate every collection the elements in ``raw`` point to."""
        n = len(raw) // vtype.size if vtype.size else 0
        if not n:
            return
        if n * len(vtype.slots) <= 16:  # a few elements (DIMENSION_LIST): no numpy overhead
            for i in range(n):
                for slot in vtype.slots:
                    pos = i * vtype.size + slot.offset
                    if slot.base_size == 0:  # region reference: (collection address, index)
                        length, at = 1, pos
                    else:
                        length, at = int.from_bytes(raw[pos : pos + 4], "little"), pos + 4
                    addr = int.from_bytes(raw[at : at + self.o], "little")
                    idx = int.from_bytes(raw[at + self.o : at + self.o + 4], "little")
                    if addr != 0 and addr != self._undefined:
                        self._object(addr, idx, length, slot, what, depth)
            return
        if self.o not in (4, 8):
            raise UnknownStructureError(f"{self.o}-byte addresses")
        slot_dt = np.dtype(
            {
                "names": ["n", "addr", "idx"],
                "formats": ["<u4", f"<u{self.o}", "<u4"],
                "offsets": [0, 4, 4 + self.o],
                "itemsize": 8 + self.o,
            }
        )
        elem = np.frombuffer(raw, np.uint8, n * vtype.size).reshape(n, vtype.size)
        for slot in vtype.slots:
            if slot.base_size == 0:  # region reference: (collection address, index)
                width = self.o + 4
                cols = np.ascontiguousarray(elem[:, slot.offset : slot.offset + width])
                ids = cols.view(np.dtype([("addr", f"<u{self.o}"), ("idx", "<u4")]))[:, 0]
                lengths = np.ones(n, np.uint64)
                addrs, idxs = ids["addr"], ids["idx"]
            else:
                width = slot_dt.itemsize
                cols = np.ascontiguousarray(elem[:, slot.offset : slot.offset + width])
                ids = cols.view(slot_dt)[:, 0]
                lengths, addrs, idxs = ids["n"].astype(np.uint64), ids["addr"], ids["idx"]
            used = (addrs != 0) & (addrs != self._undefined)
            for addr, idx, length in zip(
                addrs[used].tolist(), idxs[used].tolist(), lengths[used].tolist(), strict=True
            ):
                self._object(addr, idx, length, slot, what, depth)

    def _object(self, addr: int, idx: int, length: int, slot: _Slot, what: str, depth: int) -> None:
        objects = self._collection(addr, what, required=length > 0)
        if objects is None or length == 0:
            return
        found = objects.get(idx)
        if found is None:
            raise HeapError(
                f"{what} refers to object {idx} missing from the global heap "
                f"collection at address {addr}"
            )
        start, size = found
        need = length * slot.base_size
        if slot.base_size and size < need:
            raise HeapError(
                f"{what} needs {need} bytes from object {idx} of the global heap collection "
                f"at address {addr}, which holds {size}"
            )
        if slot.base_slots and depth < _MAX_DEPTH:
            data = self.read_at(self.base + addr + start, need)
            self._elements(data, _Type(slot.base_size, slot.base_slots), what, depth + 1)

    def _collection(
        self, addr: int, what: str, *, required: bool
    ) -> dict[int, tuple[int, int]] | None:
        """Walk the collection at ``addr`` like HDF5 does; return its objects by index."""
        objects = self._collections.get(addr)
        if objects is not None:
            return objects
        where = f"{what}: the global heap collection at address {addr}"
        head = self.read_at(self.base + addr, 8 + self.lsize)
        if len(head) < 8 + self.lsize or head[:4] != b"GCOL":
            if not required:
                return None
            raise HeapError(f"{what} points at address {addr}, where no global heap collection is")
        if head[4] != 1:
            raise HeapError(f"{where} has version {head[4]}")
        size = _uint(head, 8, self.lsize)
        if self.base + addr + size > self.file_size:
            raise HeapError(f"{where} claims {size} bytes, past the end of the file")
        buf = self.read_at(self.base + addr, size)
        objhdr = 8 + self.lsize
        pos = 8 + self.lsize
        objects = {}
        while pos < size:
            if pos + objhdr > size:
                break  # a tail too small for an object header is free space
            idx = _uint(buf, pos, 2)
            osize = _uint(buf, pos + 8, self.lsize)
            need = objhdr + (osize + 7) // 8 * 8 if idx else osize
            if need <= 0:
                raise HeapError(f"{where} has a zero-size free-space object at offset {pos}")
            if pos + need > size:
                raise HeapError(
                    f"{where}: object {idx} at offset {pos} of size {osize} overruns the "
                    f"collection ({size} bytes)"
                )
            if idx:
                if idx in objects:
                    raise HeapError(f"{where} holds object {idx} twice")
                objects[idx] = (pos + objhdr, osize)
            pos += need
        self._collections[addr] = objects
        return objects


class _FractalHeap:
    """Managed objects of a fractal heap (root direct block or one level of indirect block)."""

    def __init__(self, guard: HeapGuard, addr: int) -> None:
        self.g = guard
        o, ls = guard.o, guard.lsize
        buf = guard.read_at(guard.base + addr, 256)
        if buf[:4] != b"FRHP":
            raise UnknownStructureError(f"no fractal heap at address {addr}")
        self.id_len = _uint(buf, 5, 2)
        filters_len = _uint(buf, 7, 2)
        self.checksummed = bool(buf[9] & 0x02)
        max_managed = _uint(buf, 10, 4)
        # next huge ID, huge B-tree, free space, free-space manager, managed space,
        # allocated space, iterator offset, managed count, huge size/count, tiny size/count
        pos = 14 + 10 * ls + 2 * o  # the doubling table's width
        self.width = _uint(buf, pos, 2)
        self.start = _uint(buf, pos + 2, ls)
        self.max_direct = _uint(buf, pos + 2 + ls, ls)
        max_heap_bits = _uint(buf, pos + 2 + 2 * ls, 2)
        self.root = _uint(buf, pos + 4 + 2 * ls + 2, o)
        self.rows = _uint(buf, pos + 4 + 2 * ls + 2 + o, 2)
        if filters_len:
            raise UnknownStructureError("filtered fractal heap")
        if not self.start or self.width == 0 or self.max_direct < self.start:
            raise UnknownStructureError("fractal heap with an empty doubling table")
        self.off_size = (max_heap_bits + 7) // 8
        self.len_size = min(
            (self.max_direct.bit_length() - 1 + 7) // 8, max_managed.bit_length() // 8 + 1
        )
        self.max_direct_rows = (self.max_direct // self.start).bit_length() - 1 + 2
        self._blocks: list[tuple[int, int, int]] | None = None  # (heap offset, size, addr)

    def _direct_blocks(self) -> list[tuple[int, int, int]]:
        if self._blocks is not None:
            return self._blocks
        g = self.g
        if self.rows == 0:
            self._blocks = [(0, self.start, self.root)]
            return self._blocks
        if self.rows > self.max_direct_rows:
            raise UnknownStructureError("fractal heap with nested indirect blocks")
        head = 5 + g.o + self.off_size
        n = self.rows * self.width
        buf = g.read_at(g.base + self.root, head + n * g.o)
        if buf[:4] != b"FHIB":
            raise UnknownStructureError(f"no fractal heap indirect block at address {self.root}")
        blocks = []
        offset = 0
        for row in range(self.rows):
            bsize = self.start * (1 << max(0, row - 1))
            for col in range(self.width):
                child = _uint(buf, head + (row * self.width + col) * g.o, g.o)
                if child != g._undefined:
                    blocks.append((offset, bsize, child))
                offset += bsize
        self._blocks = blocks
        return blocks

    def get(self, heap_id: bytes) -> bytes:
        found = self.locate(heap_id)
        if isinstance(found, bytes):
            return found
        return read_object(self.g.read_at, *found)

    def locate(self, heap_id: bytes) -> bytes | tuple[int, int]:
        """Return a tiny object's data, or a managed object's file offset and length.

        (Nothing of the object itself is read: :func:`read_object` reads it.)
        """
        kind = (heap_id[0] >> 4) & 0x03
        if kind == 2:  # tiny: the data is in the ID
            return heap_id[1 : 1 + (heap_id[0] & 0x0F) + 1]
        if kind != 0:
            raise UnknownStructureError("huge fractal heap object")
        # (int.from_bytes inline: this runs once per attribute of dense storage)
        split = 1 + self.off_size
        off = int.from_bytes(heap_id[1:split], "little")
        length = int.from_bytes(heap_id[split : split + self.len_size], "little")
        for boff, bsize, baddr in self._direct_blocks():
            if boff <= off and off + length <= boff + bsize:
                return self.g.base + baddr + off - boff, length
        raise UnknownStructureError(
            f"fractal heap object at heap offset {off} not in a direct block"
        )


def read_object(read_at: ReadAt, offset: int, length: int) -> bytes:
    """Read the fractal heap object that :meth:`_FractalHeap.locate` found at ``offset``."""
    data = read_at(offset, length)
    if len(data) < length:
        raise UnknownStructureError("fractal heap object past the end of the file")
    return data


def _btree2_records(guard: HeapGuard, addr: int) -> list[bytes]:
    """All records of a version-2 B-tree (in key order)."""
    g = guard
    buf = g.read_at(g.base + addr, 64)
    if buf[:4] != b"BTHD":
        raise UnknownStructureError(f"no v2 B-tree header at address {addr}")
    node_size = _uint(buf, 6, 4)
    rec_size = _uint(buf, 10, 2)
    depth = _uint(buf, 12, 2)
    root = _uint(buf, 16, g.o)
    root_n = _uint(buf, 16 + g.o, 2)
    if rec_size == 0 or node_size < 16 or depth > 16:
        raise UnknownStructureError("v2 B-tree with impossible sizes")
    # Sizes of the child-pointer fields, as HDF5 derives them (H5B2__hdr_init).
    leaf_max = (node_size - 10) // rec_size
    max_nrec_size = (leaf_max.bit_length() - 1) // 8 + 1
    cum_max = [leaf_max]
    cum_size = [0]
    for d in range(1, depth + 1):
        ptr = g.o + max_nrec_size + (cum_size[d - 1] if d > 1 else 0)
        nmax = (node_size - 10 - ptr) // (rec_size + ptr)
        cum_max.append((nmax + 1) * cum_max[d - 1] + nmax)
        cum_size.append((cum_max[d].bit_length() - 1) // 8 + 1)
    records: list[bytes] = []
    stack = [(root, root_n, depth)]
    while stack:
        node, n, d = stack.pop()
        if len(records) + n > _MAX_OBJECTS:
            raise UnknownStructureError("v2 B-tree with too many records")
        size = 6 + n * rec_size
        if d:
            ptr = g.o + max_nrec_size + (cum_size[d - 1] if d > 1 else 0)
            size += (n + 1) * ptr
        nbuf = g.read_at(g.base + node, size)
        if nbuf[:4] != (b"BTIN" if d else b"BTLF") or len(nbuf) < size:
            raise UnknownStructureError(f"bad v2 B-tree node at address {node}")
        records.extend(nbuf[6 + i * rec_size : 6 + (i + 1) * rec_size] for i in range(n))
        if d:
            pos = 6 + n * rec_size
            for _ in range(n + 1):
                child = _uint(nbuf, pos, g.o)
                cn = _uint(nbuf, pos + g.o, max_nrec_size)
                stack.append((child, cn, d - 1))
                pos += ptr
    return records
