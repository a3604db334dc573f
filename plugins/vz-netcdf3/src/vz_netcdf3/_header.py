r"""A parser of the netCDF classic file header (CDF-1, CDF-2 and CDF-5).

The grammar is the one of the netCDF "Classic Format Specification" (NUG, appendix) and
PnetCDF's CDF-5 extension. Everything is big-endian::

    header     = magic numrecs dim_list gatt_list var_list
    magic      = 'C' 'D' 'F' VERSION            # \x01, \x02 (64-bit offset), \x05 (64-bit data)
    numrecs    = NON_NEG | STREAMING            # STREAMING: all bits set
    dim_list   = ABSENT | NC_DIMENSION nelems [dim ...]
    att_list   = ABSENT | NC_ATTRIBUTE nelems [attr ...]
    var_list   = ABSENT | NC_VARIABLE  nelems [var ...]
    ABSENT     = ZERO nelems(=0)
    dim        = name dim_length                # dim_length 0: the record (unlimited) dimension
    name       = nelems namestring              # UTF-8, zero-padded to 4 bytes
    attr       = name nc_type nelems [values]   # values zero-padded to 4 bytes
    var        = name nelems [dimid ...] vatt_list nc_type vsize begin

Tags and ``nc_type`` are 32-bit; ``NON_NEG`` (counts, lengths, dimension ids, ``vsize``) is
unsigned 32-bit in CDF-1/CDF-2 (netCDF-C reads it as ``size_t``) and 64-bit in CDF-5;
``begin`` is signed 32-bit in CDF-1 and 64-bit otherwise.

Record variables (first dimension unlimited) store one slab per record; the slabs of all
record variables are interleaved record by record, so record ``r`` of a variable starts at
``begin + r * recsize``. ``recsize`` is the sum of the record variables' slab sizes, each
rounded up to 4 bytes, except when there is exactly one record variable: then its slabs are
not padded (netCDF-C ``NC_begins``; scipy writes the same).

The parser reads only the header, in blocks, from a :class:`ByteSource`. Every count, size
and offset is checked (against the file size when it is known), and any inconsistency
raises :class:`~vzcore.errors.CorruptFileError` naming the file; it never lets an
``IndexError`` or ``struct.error`` escape and never allocates more than the file could hold.
The ``vsize`` field is read but not trusted: it is redundant, wraps for variables over
4 GiB in CDF-1/CDF-2, and scipy writes it unpadded; sizes are computed from the shape.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from vzcore.errors import CorruptFileError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from numpy.typing import NDArray

__all__ = [
    "MAGICS",
    "NC_TYPES",
    "Attribute",
    "ByteSource",
    "Dimension",
    "Header",
    "NCType",
    "VariableHeader",
    "parse_header",
]

MAGICS: dict[bytes, int] = {b"CDF\x01": 1, b"CDF\x02": 2, b"CDF\x05": 5}
"""Magic numbers and the format version each one announces."""

_NC_DIMENSION = 10
_NC_VARIABLE = 11
_NC_ATTRIBUTE = 12
_MAX_VAR_DIMS = 1024  # NC_MAX_VAR_DIMS of netCDF-C
_MAX_OFFSET = 2**63 - 1  # offsets and lengths must fit a signed 64-bit file offset
_DEFAULT_BLOCK = 64 * 1024


@dataclass(frozen=True)
class NCType:
    """A netCDF external type."""

    code: int
    """The ``nc_type`` number stored in the file."""
    name: str
    """The CDL name (``"short"``, ``"double"``, ...)."""
    dtype: np.dtype[Any]
    """The numpy dtype of one stored element (big-endian)."""
    default_fill: Any
    """netCDF's default fill value for the type (``NC_FILL_*``) as a Python value."""
    cdf5_only: bool = False
    """True for the types that only CDF-5 files may hold."""

    @property
    def size(self) -> int:
        """Bytes per element."""
        return self.dtype.itemsize

    @property
    def is_char(self) -> bool:
        """True for ``NC_CHAR``."""
        return self.code == 2


NC_TYPES: dict[int, NCType] = {
    t.code: t
    for t in (
        NCType(1, "byte", np.dtype("i1"), -127),
        NCType(2, "char", np.dtype("S1"), b"\x00"),
        NCType(3, "short", np.dtype(">i2"), -32767),
        NCType(4, "int", np.dtype(">i4"), -2147483647),
        NCType(5, "float", np.dtype(">f4"), float(np.float32(9.9692099683868690e36))),
        NCType(6, "double", np.dtype(">f8"), 9.9692099683868690e36),
        NCType(7, "ubyte", np.dtype("u1"), 255, cdf5_only=True),
        NCType(8, "ushort", np.dtype(">u2"), 65535, cdf5_only=True),
        NCType(9, "uint", np.dtype(">u4"), 4294967295, cdf5_only=True),
        NCType(10, "int64", np.dtype(">i8"), -9223372036854775806, cdf5_only=True),
        NCType(11, "uint64", np.dtype(">u8"), 18446744073709551614, cdf5_only=True),
    )
}
"""The external types by ``nc_type`` code."""


class ByteSource(Protocol):
    """Random access to the bytes of one file."""

    @property
    def size(self) -> int | None:
        """File size in bytes, or None when unknown."""
        ...

    def read(self, start: int, stop: int) -> bytes:
        """Return bytes ``[start, stop)`` (fewer at the end of the file)."""
        ...


@dataclass(frozen=True)
class Dimension:
    """A named dimension."""

    name: str
    """Dimension name."""
    length: int
    """Stored length; 0 for the record (unlimited) dimension."""

    @property
    def is_record(self) -> bool:
        """True for the unlimited dimension."""
        return self.length == 0


@dataclass(frozen=True)
class Attribute:
    """A global or variable attribute, values as stored."""

    name: str
    """Attribute name."""
    nc_type: NCType
    """Stored type."""
    raw: bytes
    """The stored values, without the padding (big-endian for numeric types)."""

    @property
    def values(self) -> NDArray[Any]:
        """The values as a numpy array of the stored dtype (``S1`` for char)."""
        return np.frombuffer(self.raw, dtype=self.nc_type.dtype)


@dataclass(frozen=True)
class VariableHeader:
    """One variable's entry in the header, with its layout computed."""

    name: str
    """Variable name."""
    dimensions: tuple[Dimension, ...]
    """Its dimensions, outermost first."""
    shape: tuple[int, ...]
    """Its shape, with the number of records on the record axis."""
    nc_type: NCType
    """Stored element type."""
    attributes: tuple[Attribute, ...]
    """Its attributes, in file order."""
    begin: int
    """File offset of its data (of its first record's slab for record variables)."""
    vsize: int
    """The ``vsize`` field as stored (informational; see the module docstring)."""

    @property
    def is_record(self) -> bool:
        """True when the first dimension is the record dimension."""
        return bool(self.dimensions) and self.dimensions[0].is_record

    @property
    def slab_bytes(self) -> int:
        """Bytes of data per record (record variables) or in total (fixed-size ones)."""
        inner = self.shape[1:] if self.is_record else self.shape
        return math.prod(inner) * self.nc_type.size

    def attribute(self, name: str) -> Attribute | None:
        """Return the attribute called ``name``, or None."""
        for a in self.attributes:
            if a.name == name:
                return a
        return None


@dataclass(frozen=True)
class Header:
    """A parsed netCDF classic header."""

    version: int
    """1 (classic), 2 (64-bit offset) or 5 (64-bit data)."""
    numrecs: int
    """Number of records (computed from the file size when the header says STREAMING)."""
    streaming: bool
    """True when the stored record count was the STREAMING marker."""
    dimensions: tuple[Dimension, ...]
    """All dimensions, in file order."""
    attributes: tuple[Attribute, ...]
    """Global attributes, in file order."""
    variables: tuple[VariableHeader, ...]
    """All variables, in file order."""
    header_size: int
    """Bytes taken by the header (data starts at or after this offset)."""
    recsize: int
    """Bytes from one record to the next (0 without record variables)."""
    file_size: int | None
    """Size of the file, when known."""

    @property
    def record_variables(self) -> tuple[VariableHeader, ...]:
        """The record variables, in file order."""
        return tuple(v for v in self.variables if v.is_record)


class _Cursor:
    """Reads header fields from a ByteSource, fetching more blocks on demand."""

    def __init__(self, source: ByteSource, url: str, block_size: int) -> None:
        self.source = source
        self.url = url
        self.size = source.size
        self.block_size = max(int(block_size), 64)
        self.buf = b""
        self.pos = 0
        self.version = 1
        self.what = "the magic number"

    def fail(self, reason: str) -> CorruptFileError:
        return CorruptFileError(self.url, f"invalid netCDF classic header: {reason}")

    def remaining(self) -> int | None:
        return None if self.size is None else self.size - self.pos

    def _ensure(self, n: int) -> None:
        end = self.pos + n
        if end <= len(self.buf):
            return
        if self.size is not None and end > self.size:
            raise self.fail(
                f"the file ends ({self.size} bytes) inside {self.what}, which needs bytes "
                f"{self.pos}..{end}"
            )
        # Read at least what is needed; grow geometrically so long headers take few reads.
        stop = max(end, 2 * len(self.buf), len(self.buf) + self.block_size)
        if self.size is not None:
            stop = min(stop, self.size)
        more = self.source.read(len(self.buf), stop)
        self.buf += more
        if len(self.buf) < end:
            raise self.fail(
                f"the file ends ({len(self.buf)} bytes) inside {self.what}, which needs "
                f"bytes {self.pos}..{end}"
            )

    def take(self, n: int) -> bytes:
        self._ensure(n)
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def int32(self) -> int:
        value: int = struct.unpack(">i", self.take(4))[0]
        return value

    def int64(self) -> int:
        value: int = struct.unpack(">q", self.take(8))[0]
        return value

    def uint32(self) -> int:
        value: int = struct.unpack(">I", self.take(4))[0]
        return value

    def non_neg(self) -> int:
        """Read a NON_NEG field: unsigned 32-bit before CDF-5, 64-bit in CDF-5.

        netCDF-C reads these as ``size_t`` (``ncx_get_size_t``): in CDF-1/CDF-2 a length
        or a ``vsize`` may use the 32nd bit (dimensions up to 2**32 - 4 elements, ``vsize``
        2**32 - 1 for variables over 4 GiB).
        """
        value = self.int64() if self.version == 5 else self.uint32()
        if value < 0:
            raise self.fail(f"{self.what} is negative ({value})")
        return value

    def offset(self) -> int:
        """Read an OFFSET field: 32-bit in CDF-1, 64-bit otherwise."""
        value = self.int32() if self.version == 1 else self.int64()
        if value < 0:
            raise self.fail(f"{self.what} is negative ({value})")
        return value

    def padded(self, n: int) -> bytes:
        """Take ``n`` bytes and skip the zero padding to the next 4-byte boundary."""
        self.check_fits(n, f"{n} bytes")
        data = self.take(n)
        self.take(-n % 4)
        return data

    def check_fits(self, n: int, what: str) -> None:
        """Refuse a count whose bytes cannot be in the file (before allocating anything)."""
        left = self.remaining()
        if left is not None and n > left:
            raise self.fail(
                f"{self.what} claims {what}, more than the {max(left, 0)} bytes left in the file"
            )

    @property
    def nonneg_size(self) -> int:
        return 8 if self.version == 5 else 4


def parse_header(source: ByteSource, url: str, *, block_size: int = _DEFAULT_BLOCK) -> Header:
    """Parse the header of a netCDF classic file.

    Parameters
    ----------
    source
        Random access to the file's bytes; only the header is read, in blocks.
    url
        The file's URL, used in error messages.
    block_size
        Bytes read first; more are read (doubling) while the header goes on.

    Returns
    -------
    Header
        Dimensions, attributes and variables with their layout.

    Raises
    ------
    vzcore.errors.CorruptFileError
        When the header is not a valid netCDF classic header or the file is too short for
        the data it declares.
    """
    cur = _Cursor(source, url, block_size)
    magic = cur.take(4)
    if magic not in MAGICS:
        raise cur.fail(f"the file starts with {magic!r}, not one of {list(MAGICS)!r}")
    cur.version = MAGICS[magic]

    cur.what = "the record count"
    if cur.version == 5:
        raw_numrecs = cur.int64()
        streaming = raw_numrecs == -1
    else:
        raw_numrecs = cur.uint32()
        streaming = raw_numrecs == 0xFFFFFFFF
    if raw_numrecs < -1:
        raise cur.fail(f"the record count is negative ({raw_numrecs})")

    dims = _parse_dimensions(cur)
    gattrs = _parse_attributes(cur, "the global attribute list")
    var_specs = _parse_variables(cur, dims)
    header_size = cur.pos

    return _layout(cur, dims, gattrs, var_specs, header_size, raw_numrecs, streaming)


def _list_header(cur: _Cursor, tag: int, what: str, min_item: int) -> int:
    """Read a list's tag and count; return the count (0 for ABSENT)."""
    cur.what = f"the tag of {what}"
    found = cur.int32()
    if found not in (0, tag):
        raise cur.fail(f"{what} starts with tag {found}, expected {tag} or 0 (absent)")
    cur.what = f"the length of {what}"
    count = cur.non_neg()
    if found == 0 and count != 0:
        raise cur.fail(f"{what} is marked absent but claims {count} entries")
    cur.check_fits(count * min_item, f"{count} entries")
    return count


def _name(cur: _Cursor, what: str) -> str:
    cur.what = f"the name length of {what}"
    n = cur.non_neg()
    if n == 0:
        raise cur.fail(f"{what} has an empty name")
    cur.what = f"the name of {what}"
    raw = cur.padded(n)
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        # a valid file all the same (netCDF-C writes the bytes it is given; older tools wrote
        # Latin-1 names such as b"Bandwidth (\xb5m)"): decoded as Latin-1, as scipy.io.netcdf
        # and vz-hdf5 do, every byte one character, none lost
        name = raw.decode("latin-1")
    if "/" in name or "\x00" in name:
        raise cur.fail(f"the name {name!r} of {what} contains '/' or NUL")
    return name


def _unique_names(cur: _Cursor, count: int, kind: str, of: str, twice: str) -> Iterator[str]:
    """Yield the names of a list's ``count`` items as they are parsed; refuse a repeated one.

    An item is named ``"<kind> #<i><of>"`` while its name is read; a repeated name fails with
    ``"<kind> '<name>' <twice>"``.
    """
    seen: set[str] = set()
    for i in range(count):
        name = _name(cur, f"{kind} #{i}{of}")
        if name in seen:
            raise cur.fail(f"{kind} {name!r} {twice}")
        seen.add(name)
        yield name


def _min_name(cur: _Cursor) -> int:
    return cur.nonneg_size + 4


def _parse_dimensions(cur: _Cursor) -> tuple[Dimension, ...]:
    count = _list_header(cur, _NC_DIMENSION, "the dimension list", 2 * cur.nonneg_size + 4)
    dims: list[Dimension] = []
    for name in _unique_names(cur, count, "dimension", "", "is defined twice"):
        cur.what = f"the length of dimension {name!r}"
        dims.append(Dimension(name, cur.non_neg()))
    unlimited = [d.name for d in dims if d.is_record]
    if len(unlimited) > 1:
        raise cur.fail(f"several dimensions are unlimited (length 0): {unlimited}")
    return tuple(dims)


def _parse_attributes(cur: _Cursor, what: str) -> tuple[Attribute, ...]:
    min_item = _min_name(cur) + 4 + cur.nonneg_size
    count = _list_header(cur, _NC_ATTRIBUTE, what, min_item)
    attrs: list[Attribute] = []
    for name in _unique_names(cur, count, "attribute", f" of {what}", f"appears twice in {what}"):
        cur.what = f"the type of attribute {name!r}"
        nc_type = _nc_type(cur, cur.int32(), f"attribute {name!r}")
        cur.what = f"the value count of attribute {name!r}"
        n = cur.non_neg()
        cur.what = f"the values of attribute {name!r}"
        attrs.append(Attribute(name, nc_type, cur.padded(n * nc_type.size)))
    return tuple(attrs)


def _nc_type(cur: _Cursor, code: int, what: str) -> NCType:
    t = NC_TYPES.get(code)
    if t is None or (t.cdf5_only and cur.version != 5):
        allowed = "1..11" if cur.version == 5 else "1..6"
        raise cur.fail(f"{what} has type code {code}; CDF-{cur.version} allows {allowed}")
    return t


def _parse_variables(cur: _Cursor, dims: tuple[Dimension, ...]) -> list[VariableHeader]:
    """Parse the variable list; each shape is left ``()`` for :func:`_layout` to set."""
    nn = cur.nonneg_size
    off = 4 if cur.version == 1 else 8
    min_item = _min_name(cur) + nn + (4 + nn) + 4 + nn + off
    count = _list_header(cur, _NC_VARIABLE, "the variable list", min_item)
    out: list[VariableHeader] = []
    for name in _unique_names(cur, count, "variable", "", "is defined twice"):
        cur.what = f"the dimension count of variable {name!r}"
        ndims = cur.non_neg()
        if ndims > _MAX_VAR_DIMS:
            raise cur.fail(f"variable {name!r} claims {ndims} dimensions (at most 1024)")
        cur.check_fits(ndims * nn, f"{ndims} dimension ids")
        ids: list[int] = []
        for axis in range(ndims):
            cur.what = f"dimension id #{axis} of variable {name!r}"
            dim_id = cur.non_neg()
            if dim_id >= len(dims):
                raise cur.fail(
                    f"variable {name!r} uses dimension id {dim_id} but only {len(dims)} "
                    "dimensions are defined"
                )
            if axis > 0 and dims[dim_id].is_record:
                raise cur.fail(
                    f"variable {name!r} uses the record dimension {dims[dim_id].name!r} on "
                    f"axis {axis}; it may only be the first"
                )
            ids.append(dim_id)
        attrs = _parse_attributes(cur, f"the attributes of variable {name!r}")
        cur.what = f"the type of variable {name!r}"
        nc_type = _nc_type(cur, cur.int32(), f"variable {name!r}")
        cur.what = f"the vsize of variable {name!r}"
        vsize = cur.take(8) if cur.version == 5 else cur.take(4)  # redundant: not trusted
        cur.what = f"the data offset (begin) of variable {name!r}"
        begin = cur.offset()
        vdims = tuple(dims[i] for i in ids)
        out.append(VariableHeader(name, vdims, (), nc_type, attrs, begin, int.from_bytes(vsize)))
    return out


def _layout(
    cur: _Cursor,
    dims: tuple[Dimension, ...],
    gattrs: tuple[Attribute, ...],
    specs: list[VariableHeader],
    header_size: int,
    raw_numrecs: int,
    streaming: bool,
) -> Header:
    """Compute shapes and record layout; check every byte range against the file."""
    size = cur.size
    for s in specs:
        if s.begin < header_size:
            raise cur.fail(
                f"variable {s.name!r} starts at offset {s.begin}, inside the header "
                f"({header_size} bytes)"
            )

    def slab(s: VariableHeader) -> int:
        inner = [d.length for d in s.dimensions if not d.is_record]
        n = math.prod(inner) * s.nc_type.size
        if n > _MAX_OFFSET:
            raise cur.fail(f"variable {s.name!r} claims {n} bytes")
        return n

    rec = [s for s in specs if s.is_record]
    slabs = {s.name: slab(s) for s in specs}
    if len(rec) == 1:
        recsize = slabs[rec[0].name]  # a lone record variable is not padded
    else:
        recsize = sum(slabs[s.name] + (-slabs[s.name] % 4) for s in rec)
    begin_rec = min((s.begin for s in rec), default=0)
    used = max((s.begin - begin_rec + slabs[s.name] for s in rec), default=0)
    if streaming:
        if not rec:
            numrecs = 0
        elif size is None:
            raise cur.fail("the record count is STREAMING and the file size is unknown")
        else:
            numrecs = (
                max(0, (size - begin_rec - used) // recsize + 1) if size >= begin_rec + used else 0
            )
    else:
        numrecs = raw_numrecs

    if numrecs:  # without records, record variables hold no byte (scipy gives vsize 0)
        for s in rec:
            if s.begin - begin_rec + slabs[s.name] > recsize:
                raise cur.fail(
                    f"record variable {s.name!r} (offset {s.begin}, {slabs[s.name]} bytes per "
                    f"record) does not fit in the {recsize}-byte record starting at {begin_rec}"
                )
    _check_overlaps(cur, specs, slabs, rec, begin_rec, used, recsize, numrecs)
    variables: list[VariableHeader] = []
    for s in specs:
        shape = tuple(numrecs if d.is_record else d.length for d in s.dimensions)
        n = slabs[s.name]
        if s.is_record:
            # Without records a record variable has no data: its begin may be at or
            # past the end of the file (netCDF-C writes it so).
            end = s.begin + (numrecs - 1) * recsize + n if numrecs else 0
        else:
            end = s.begin + n
        if end > _MAX_OFFSET:
            raise cur.fail(f"variable {s.name!r} ends at offset {end}, beyond 2**63")
        if size is not None and end > size:
            raise cur.fail(
                f"variable {s.name!r} needs bytes {s.begin}..{end} but the file has only "
                f"{size} bytes"
            )
        variables.append(replace(s, shape=shape))
    return Header(
        version=cur.version,
        numrecs=numrecs,
        streaming=streaming,
        dimensions=dims,
        attributes=gattrs,
        variables=tuple(variables),
        header_size=header_size,
        recsize=recsize,
        file_size=size,
    )


def _check_overlaps(
    cur: _Cursor,
    specs: list[VariableHeader],
    slabs: dict[str, int],
    rec: list[VariableHeader],
    begin_rec: int,
    used: int,
    recsize: int,
    numrecs: int,
) -> None:
    """Refuse variables whose data share bytes (netCDF-C refuses such files too).

    Fixed-size variables must not overlap each other nor the records; the slabs of the
    record variables must not overlap inside a record. scipy.io.netcdf_file (1.18) writes such files when
    a scalar variable sits next to record variables (its data lands inside record 1).
    """
    rec_names = {s.name for s in rec}
    spans = sorted(
        (s.begin, s.begin + slabs[s.name], s.name) for s in specs if s.name not in rec_names
    )
    if rec and numrecs:
        spans.append((begin_rec, begin_rec + (numrecs - 1) * recsize + used, "<records>"))
        spans.sort()
    for (_, end, a), (start, _, b) in pairwise(spans):
        if start < end:
            which = "the record data" if "<records>" in (a, b) else ""
            names = [n for n in (a, b) if n != "<records>"]
            raise cur.fail(
                f"the data of variable {names[0]!r} overlaps "
                + (which or f"that of variable {names[1]!r}")
                + f" (offsets {start} < {end})"
            )
    if not numrecs:
        return
    slabs_in_record = sorted((s.begin, s.begin + slabs[s.name], s.name) for s in rec)
    for (_, end, a), (start, _, b) in pairwise(slabs_in_record):
        if start < end:
            raise cur.fail(
                f"the record slabs of variables {a!r} and {b!r} overlap (offsets {start} < {end})"
            )
